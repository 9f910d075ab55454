import { InvalidEventError, RescindError } from '../errors';
import type { RulePolicy } from './rule-policy';
import type { StoredRule } from './stored-rule';

/** Reinstating a rule that no longer revokes anything (already reinstated, or expired). */
export class RuleNotActiveError extends RescindError {
  constructor(id: string, status: string) {
    super('rule_not_active', `rule ${id} is ${status}, not active; there is nothing to reinstate`);
  }
}

/**
 * The version a reinstatement writes: without `revokedBefore` the rule is removed; with one, the
 * rule is lowered to it, which must be strictly lower than the current value (or the current is
 * null, every token), and its expiry follows the new value. A rule that revokes nothing any more
 * (reinstated, expired) has nothing to reinstate: 409.
 */
export function reinstatement(
  rule: StoredRule,
  lowerTo: number | undefined,
  options: { policy: RulePolicy; nowMs: number },
):
  | {
      action: 'rule.reinstated';
      revokedBefore: number | null;
      expiresAt: number | null;
      status: 'reinstated';
    }
  | { action: 'rule.lowered'; revokedBefore: number; expiresAt: number | null; status: 'active' } {
  if (rule.status !== 'active') {
    throw new RuleNotActiveError(rule.id, rule.status);
  }
  if (lowerTo === undefined) {
    // The removal keeps the rule's values: its expiresAt tells consumers how long to remember
    // the removal so that a stale, older `rule.set` for the key stays ignored.
    return {
      action: 'rule.reinstated',
      revokedBefore: rule.revokedBefore,
      expiresAt: rule.expiresAt,
      status: 'reinstated',
    };
  }
  if (rule.revokedBefore !== null && lowerTo >= rule.revokedBefore) {
    throw new InvalidEventError([
      {
        pointer: '/revokedBefore',
        detail: `must be before the rule's current revokedBefore (${new Date(rule.revokedBefore).toISOString()}); raising is a new revocation`,
      },
    ]);
  }
  return {
    action: 'rule.lowered',
    revokedBefore: lowerTo,
    expiresAt: options.policy.expiresAt(
      { claim: rule.claim, iss: rule.iss, revokedBefore: lowerTo },
      options.nowMs,
    ),
    status: 'active',
  };
}
