import { type RuleCutoffs, revokesAtLeast } from '@rescind/rules';
import type { Principal } from '../auth/permissions';
import { cutoffsOf, type RuleSpec, type StoredRule } from './stored-rule';

/** Where a revocation came from; part of the idempotency key. */
export type EventSource = 'hr' | 'idp' | 'siem' | 'ssf' | 'operator' | 'oauth' | 'global';

/** What every command says, however its repetitions are recognised. */
interface RevocationCommandBase {
  source: EventSource;
  /** Authenticated caller; authorization of every rule is checked against it. */
  principal: Principal;
  /** The caller explicitly confirmed a broad or bulk revocation. */
  confirmed: boolean;
  reason: string;
  /** When the source says it happened (audit only). */
  occurredAt: Date | null;
  receivedAt: Date;
  /** W3C trace context of the request, carried through the outbox into Kafka headers. */
  traceContext: Record<string, string>;
}

/**
 * An event with an id (HR, IdP, SIEM, SSF, operator, global revocation): the same
 * `(source, eventId)` again has the effect of one (docs/design.md, promise 2) and gets the first
 * answer, whatever happened to the rules since.
 */
export interface IdentifiedRevocationCommand extends RevocationCommandBase {
  /** The source's event id: with `source`, the idempotency key; recorded with each change. */
  eventId: string;
  /** SHA-256 of the canonical request; the same id with another hash is a conflict. */
  bodySha256: string;
  rules: RuleSpec[];
  /**
   * Rules the event ends (an HR rehire or reinstatement), by identity: reinstated in the same
   * transaction when every revocation that made the rule came from the same source; a rule
   * another source also raised (a SIEM compromise, say) stays, and the answer says so.
   */
  reinstate?: Array<Pick<RuleSpec, 'claim' | 'value' | 'iss'>>;
}

/**
 * A rule of a revocation that is idempotent in effect: written unless the stored rule on its
 * key is active and already revokes at least `minimum`.
 */
export interface RuleSpecUnlessInForce extends RuleSpec {
  /**
   * The least the stored rule must revoke for this revocation to change nothing: a
   * `revokedBefore` and an `expiresAt` no earlier than these (null, every token or never,
   * dominating). Often less than the spec itself, whose instants may be relative to now.
   */
  minimum: RuleCutoffs;
}

/**
 * A request with no id whose effect is idempotent by nature (RFC 7009: "revoke this token").
 * No idempotency record: a repetition is recognised by the rules themselves, so after an
 * operator reinstated the rule the same request revokes again. A rule already in force is left
 * as it is (no new version, audit record or outbox message). Its changes are recorded with no
 * source event id, like the operator's and the pruner's.
 */
export interface UnidentifiedRevocationCommand extends RevocationCommandBase {
  eventId: null;
  rules: RuleSpecUnlessInForce[];
}

/**
 * The one command every transport (webhook, Kafka, SSF, operator API, RFC 7009) turns its input
 * into. Actor, source and receive time are set by the server, never taken from a body.
 */
export type RevocationCommand = IdentifiedRevocationCommand | UnidentifiedRevocationCommand;

export type { RevocationResult } from './revocation-result';

/**
 * True when the stored rule already revokes at least `minimum`: active, and neither its
 * `revokedBefore` nor its `expiresAt` earlier (`revokesAtLeast` in @rescind/rules).
 */
export function isInForce(
  stored: Pick<StoredRule, 'status' | 'revokedBefore' | 'expiresAt'>,
  minimum: RuleSpecUnlessInForce['minimum'],
): boolean {
  return revokesAtLeast(cutoffsOf(stored), minimum);
}
