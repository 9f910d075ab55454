import { type InvalidationEventV1, InvalidationEventV1Schema, ruleKey } from '@rescind/contracts';
import { UnpublishableRuleError } from '../errors';
import type { StoredRule } from './stored-rule';

/** The invalidation event that tells enforcement points about this version of a rule. */
export function invalidationEventFor(rule: StoredRule, committedAt: number): InvalidationEventV1 {
  const envelope = {
    v: 1 as const,
    key: rule.key,
    seq: rule.seq,
    revocationId: rule.id,
    committedAt,
  };
  if (rule.status === 'active') {
    return {
      ...envelope,
      type: 'rule.set',
      rule: {
        claim: rule.claim,
        value: rule.value,
        iss: rule.iss,
        revokedBefore: rule.revokedBefore,
        ...(rule.cutoff === 'auth_time' && rule.revokedBefore !== null
          ? { cutoff: 'auth_time' as const }
          : {}),
        expiresAt: rule.expiresAt,
      },
    };
  }
  return {
    ...envelope,
    type: 'rule.removed',
    rule: { claim: rule.claim, value: rule.value, iss: rule.iss },
    expiresAt: rule.expiresAt,
  };
}

/**
 * {@link invalidationEventFor}, checked against the contract every enforcement point parses
 * with (`InvalidationEventV1Schema`), and its key against the rule it names (`ruleKey`: a value
 * the database did not keep as sent would break that). Throws UnpublishableRuleError (422, never
 * retried) rather than let the transaction commit a message consumers would skip.
 */
export function publishableEventFor(rule: StoredRule, committedAt: number): InvalidationEventV1 {
  const event = invalidationEventFor(rule, committedAt);
  const parsed = InvalidationEventV1Schema.safeParse(event);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `/${i.path.join('/')} ${i.message}`);
  if (event.key !== ruleKey(event.rule)) {
    problems.push(`/key is not the key of the rule as stored (${ruleKey(event.rule)})`);
  }
  if (problems.length > 0) {
    throw new UnpublishableRuleError(rule.key, problems);
  }
  return event;
}
