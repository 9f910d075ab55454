import type { Principal } from '../auth/permissions';
import type { RuleSpec } from '../rules/rule';

/** Where a revocation came from; part of the idempotency key. */
export type EventSource = 'hr' | 'idp' | 'siem' | 'ssf' | 'operator' | 'oauth' | 'global';

/**
 * The one command every transport (webhook, Kafka, SSF, operator API, RFC 7009) turns its input
 * into. Actor, source and receive time are set by the server, never taken from a body.
 */
export interface RevocationCommand {
  source: EventSource;
  /** The source's event id: with `source`, the idempotency key. */
  eventId: string;
  /** SHA-256 of the canonical request; the same id with another hash is a conflict. */
  bodySha256: string;
  /** Authenticated caller; authorization of every rule is checked against it. */
  principal: Principal;
  /** The caller explicitly confirmed a broad or bulk revocation. */
  confirmed: boolean;
  reason: string;
  /** When the source says it happened (audit only). */
  occurredAt: Date | null;
  receivedAt: Date;
  rules: RuleSpec[];
  /** W3C trace context of the request, carried through the outbox into Kafka headers. */
  traceContext: Record<string, string>;
}

export interface RevocationResult {
  /** Id of the (first) rule written; null when the event asked for no rule. */
  revocationId: string | null;
  /** Its new `seq`; null when the event asked for no rule. */
  seq: number | null;
  /** True when this event id was processed before and this is the earlier answer. */
  duplicate: boolean;
  /** Every rule written, in request order. */
  rules: Array<{ revocationId: string; key: string; seq: number }>;
}
