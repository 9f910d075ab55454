import type { InvalidationEventV1 } from '@rescind/contracts';
import type { StoredRule } from './rule';

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
