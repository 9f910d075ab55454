import type { DenyList, RuleVersion, TokenClaims } from '@rescind/rules';
import type { StalenessPolicy } from './freshness';

/**
 * The answer of {@link RevocationConsumer.check}. `allowed` is what to do; `reason` says why, so
 * a gateway can answer 401 (`revoked`) or 503 (`stale`, `not-ready`) correctly.
 *
 * @example
 * const decision = consumer.check(claims);
 * if (!decision.allowed) reply.code(decision.reason === 'revoked' ? 401 : 503);
 */
export type CheckDecision =
  | { allowed: true; revoked: false; reason: 'allowed' }
  /**
   * The list is stale and the policy lets requests through: `fail-open` always, `keep-last`
   * once a list was loaded.
   */
  | { allowed: true; revoked: false; reason: 'stale-allowed' }
  | { allowed: false; revoked: true; reason: 'revoked'; rule: RuleVersion }
  /**
   * `stale`: fail-closed and the list is stale. `not-ready`: fail-closed before the list caught
   * up with the topic, or keep-last before any list was loaded.
   */
  | { allowed: false; revoked: false; reason: 'stale' | 'not-ready' };

/**
 * What the decision needs to know of the list besides its rules. The consumer keeps one such
 * object and updates it on transitions, so a check reads three fields and never the clock.
 */
export interface ListState {
  /** Caught up with the topic as it was at start (after the snapshot, if any). */
  readonly ready: boolean;
  /** Not ready, or no heartbeat proves the list fresh (see `Freshness`). */
  readonly stale: boolean;
  /** A list was loaded at some point: a snapshot, the saved list, or the topic caught up. */
  readonly loaded: boolean;
}

const ALLOWED: CheckDecision = Object.freeze({ allowed: true, revoked: false, reason: 'allowed' });
const STALE_ALLOWED: CheckDecision = Object.freeze({
  allowed: true,
  revoked: false,
  reason: 'stale-allowed',
});
const STALE_DENIED: CheckDecision = Object.freeze({
  allowed: false,
  revoked: false,
  reason: 'stale',
});
const NOT_READY: CheckDecision = Object.freeze({
  allowed: false,
  revoked: false,
  reason: 'not-ready',
});

/**
 * Should a token with these claims be let through? A revoked token is denied under every
 * policy; one the list does not revoke is allowed while the list is fresh, and otherwise gets
 * what the staleness policy says. The request path: it allocates only for a revoked token (the
 * rule it names); every other answer is a frozen constant.
 *
 * @example
 * const decision = decide(list, { sub: 'alice', iat: 1700000000 }, state, 'fail-closed');
 */
export function decide(
  list: Pick<DenyList, 'check'>,
  claims: TokenClaims,
  state: ListState,
  policy: StalenessPolicy,
): CheckDecision {
  const found = list.check(claims);
  if (found.revoked) {
    return { allowed: false, revoked: true, reason: 'revoked', rule: found.rule };
  }
  if (!state.stale) {
    return ALLOWED;
  }
  switch (policy) {
    case 'fail-closed':
      return state.ready ? STALE_DENIED : NOT_READY;
    case 'fail-open':
      return STALE_ALLOWED;
    case 'keep-last':
      return state.loaded ? STALE_ALLOWED : NOT_READY;
  }
}

/**
 * `check()` decisions so far, by reason. Counted with named increments, not
 * `counts[decision.reason] += 1`: a keyed store over five keys is megamorphic, and cost about
 * 20 ns a check when measured, on a request path of well under a microsecond.
 *
 * @example
 * counts.count(decision);
 * counts.byReason(); // { allowed: 1, 'stale-allowed': 0, revoked: 0, stale: 0, 'not-ready': 0 }
 */
export class DecisionCounts {
  private readonly counts: Record<CheckDecision['reason'], number> = {
    allowed: 0,
    'stale-allowed': 0,
    revoked: 0,
    stale: 0,
    'not-ready': 0,
  };

  count(decision: CheckDecision): void {
    switch (decision.reason) {
      case 'allowed':
        this.counts.allowed += 1;
        return;
      case 'revoked':
        this.counts.revoked += 1;
        return;
      case 'stale-allowed':
        this.counts['stale-allowed'] += 1;
        return;
      case 'stale':
        this.counts.stale += 1;
        return;
      case 'not-ready':
        this.counts['not-ready'] += 1;
        return;
    }
  }

  /** The live counts (copy them to keep them). */
  byReason(): Readonly<Record<CheckDecision['reason'], number>> {
    return this.counts;
  }
}
