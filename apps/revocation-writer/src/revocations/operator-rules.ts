import { ruleKey } from '@rescind/contracts';
import { mergeRevocation, revokesAtLeast, type StoredCutoffs } from '@rescind/rules';
import { type FieldProblem, InvalidEventError } from '../errors';
import { cutoffsOf, type RuleSpec, type StoredRule } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';
import type { RuleRequest } from './dto/revocations.dto';

/**
 * How far in the future an operator's `revokedBefore` may lie and still be taken for "now": the
 * caller's clock may run ahead of ours. Beyond it the request is refused, since a future instant
 * would also revoke tokens issued after the decision (usually a typo in the date).
 */
export const CLOCK_SKEW_MS = 30_000;

/**
 * Claims whose value names tokens that already exist (one token, one session): revoking them
 * "whatever their iat" is the natural default. Mirrors `ruleExpiresAt` in @rescind/rules.
 */
const SINGLE_TOKEN_CLAIMS: ReadonlySet<string> = new Set(['jti', 'token_hash', 'sid']);

/** A compact JWS (`eyJ…` header). Rules must never hold a raw token (docs/design.md, promise 7). */
const RAW_JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** `token_hash` values are SHA-256 digests, base64url without padding, as the consumer computes. */
const SHA256_BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/**
 * An instant from the API (already checked to be RFC 3339) as epoch milliseconds, or a problem:
 * before 1970 (events carry unsigned milliseconds) or in the future beyond the clock skew.
 * An instant within the skew is taken as `nowMs`, like the HR mapping never trusts a clock ahead.
 */
export function pastInstant(text: string, nowMs: number): { ms: number } | { problem: string } {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) {
    return { problem: 'must be an instant after 1970-01-01T00:00:00Z' };
  }
  if (ms > nowMs + CLOCK_SKEW_MS) {
    return {
      problem: `must not lie in the future (more than ${CLOCK_SKEW_MS / 1000} s after the writer's clock)`,
    };
  }
  return { ms: Math.min(ms, nowMs) };
}

/**
 * Turns what an operator asked for into rule specs: claim allowed by the configuration, value not
 * a raw token, `revokedBefore` defaulted (null for single-token claims, the receive time
 * otherwise) and not in the future, `expiresAt` from the policy. Throws one 422 naming every
 * offending member, as JSON Pointers into the request body.
 */
export function toRuleSpecs(
  requests: readonly RuleRequest[],
  options: { policy: RulePolicy; receivedAtMs: number },
): RuleSpec[] {
  const problems: FieldProblem[] = [];
  const specs = requests.map((request, i): RuleSpec => {
    const at = `/rules/${i}`;
    if (!options.policy.isAllowedClaim(request.claim)) {
      problems.push({
        pointer: `${at}/claim`,
        detail: `"${request.claim}" is not a claim rules may match here; allowed: ${[...options.policy.allowedClaims].join(', ')}`,
      });
    }
    if (RAW_JWT.test(request.value)) {
      problems.push({
        pointer: `${at}/value`,
        detail:
          'looks like a raw token; revoke it by its jti or its token_hash, never by the token itself',
      });
    } else if (request.claim === 'token_hash' && !SHA256_BASE64URL.test(request.value)) {
      problems.push({
        pointer: `${at}/value`,
        detail:
          'a token_hash is the SHA-256 of the token, base64url without padding (43 characters)',
      });
    }
    let revokedBefore: number | null;
    if (request.revokedBefore === undefined) {
      revokedBefore = SINGLE_TOKEN_CLAIMS.has(request.claim) ? null : options.receivedAtMs;
    } else if (request.revokedBefore === null) {
      revokedBefore = null;
    } else {
      const instant = pastInstant(request.revokedBefore, options.receivedAtMs);
      if ('problem' in instant) {
        problems.push({ pointer: `${at}/revokedBefore`, detail: instant.problem });
      }
      revokedBefore = 'ms' in instant ? instant.ms : null;
    }
    const identity = { claim: request.claim, value: request.value, iss: request.iss ?? null };
    const expiresAt = options.policy.expiresAt(
      { ...identity, revokedBefore },
      options.receivedAtMs,
    );
    return { ...identity, revokedBefore, expiresAt };
  });
  if (problems.length > 0) {
    throw new InvalidEventError(problems);
  }
  return specs;
}

export type PlannedEffect = 'create' | 'reactivate' | 'raise' | 'unchanged';

/** A rule as the request would leave it, and what writing it would do. */
export interface PlannedRule extends Pick<
  StoredRule,
  'key' | 'claim' | 'value' | 'iss' | 'revokedBefore' | 'expiresAt'
> {
  effect: PlannedEffect;
  /** The stored rule with this key before the request, if any. */
  current: StoredRule | null;
}

/**
 * What writing `specs` would do, given the rules stored now: the merge `RulesRepository`
 * writes (`mergeRevocation` from @rescind/rules), applied in request order so that two specs
 * for one key fold as they would in the transaction.
 */
export function planRevocation(
  specs: readonly RuleSpec[],
  stored: ReadonlyMap<string, StoredRule>,
): PlannedRule[] {
  const running = new Map<string, StoredCutoffs>();
  for (const [key, rule] of stored) {
    running.set(key, cutoffsOf(rule));
  }
  return specs.map((spec) => {
    const key = ruleKey(spec);
    const before = running.get(key);
    const next = mergeRevocation(before ?? null, spec);
    const effect: PlannedEffect = !before
      ? 'create'
      : !before.active
        ? 'reactivate'
        : revokesAtLeast(before, spec)
          ? 'unchanged'
          : 'raise';
    running.set(key, { active: true, ...next });
    return {
      key,
      claim: spec.claim,
      value: spec.value,
      iss: spec.iss,
      ...next,
      effect,
      current: stored.get(key) ?? null,
    };
  });
}
