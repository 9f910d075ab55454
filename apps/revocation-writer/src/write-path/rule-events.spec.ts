import { ruleKey } from '@rescind/contracts';
import { randomUUID } from 'node:crypto';
import { UnpublishableRuleError } from '../errors';
import { httpStatus } from '../http/problem-details';
import type { StoredRule } from './stored-rule';
import { invalidationEventFor, publishableEventFor } from './rule-events';

const NOW = 1_700_000_000_000;

function stored(over: Partial<StoredRule> = {}): StoredRule {
  const identity = { claim: 'sub', value: 'alice', iss: 'https://idp.example', ...over };
  return {
    id: randomUUID(),
    key: ruleKey(identity),
    revokedBefore: NOW,
    expiresAt: NOW + 3_600_000,
    seq: 7,
    status: 'active',
    source: 'hr',
    sourceEventId: 'hr-1',
    reason: 'hr employee.terminated',
    createdAt: NOW,
    updatedAt: NOW,
    removedAt: null,
    ...identity,
  };
}

describe(publishableEventFor.name, () => {
  it('is the invalidation event of the rule, set or removed, when the contract accepts it', () => {
    for (const rule of [stored(), stored({ status: 'reinstated' })]) {
      expect(publishableEventFor(rule, NOW)).toEqual(invalidationEventFor(rule, NOW));
    }
  });

  it('publishes an auth_time cutoff, and none for a rule compared with iat', () => {
    const event = publishableEventFor(stored({ cutoff: 'auth_time' }), NOW);
    expect(event).toMatchObject({ type: 'rule.set', rule: { cutoff: 'auth_time' } });
    expect(publishableEventFor(stored(), NOW).rule).not.toHaveProperty('cutoff');
  });

  it('refuses a rule whose stored value is not the one its key was computed from (a lone surrogate stored as U+FFFD)', () => {
    const rule = {
      ...stored({ value: 'a\ufffdb' }),
      key: ruleKey({ claim: 'sub', value: 'a\ud800b', iss: 'https://idp.example' }),
    };
    expect(() => publishableEventFor(rule, NOW)).toThrow(UnpublishableRuleError);
    expect(() => publishableEventFor(rule, NOW)).toThrow(
      /\/key is not the key of the rule as stored/,
    );
  });

  it('refuses a rule enforcement points would skip: a key over the contract limit, a NUL', () => {
    const long = stored({ value: '/'.repeat(1000) });
    expect(() => publishableEventFor(long, NOW)).toThrow(
      /\/key Too big: expected string to have <=2048 characters/,
    );
    const nul = stored({ value: 'a\u0000b' });
    expect(() => publishableEventFor(nul, NOW)).toThrow(/\/rule\/value must not contain U\+0000/);
    const error = (() => {
      try {
        return publishableEventFor(nul, NOW);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'unpublishable_rule', retriable: false });
    expect(httpStatus((error as UnpublishableRuleError).code)).toBe(422);
  });
});
