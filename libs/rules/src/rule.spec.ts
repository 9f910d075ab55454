import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import fc from 'fast-check';
import { DenyList } from './deny-list';
import { isExpired } from './rule';

describe(isExpired.name, () => {
  it('is expired at and after expiresAt: a rule whose expiresAt equals now is expired', () => {
    expect(isExpired(1_000, 999)).toBe(false);
    expect(isExpired(1_000, 1_000)).toBe(true);
    expect(isExpired(1_000, 1_001)).toBe(true);
  });

  it('never expires a rule without expiresAt', () => {
    expect(isExpired(null, 0)).toBe(false);
    expect(isExpired(null, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('is the edge DenyList.pruneExpired drops at', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }),
        fc.integer({ min: 0, max: 50 }),
        (expiresAt, nowMs) => {
          const list = new DenyList();
          const rule = { claim: 'sub', value: 'alice', iss: null };
          const event: InvalidationEventV1 = {
            v: 1,
            type: 'rule.set',
            key: ruleKey(rule),
            seq: 1,
            revocationId: '00000000-0000-4000-8000-000000000001',
            committedAt: 0,
            rule: { ...rule, revokedBefore: null, expiresAt },
          };
          list.apply(event);
          list.pruneExpired(nowMs);
          expect(list.get('sub', 'alice', null) === undefined).toBe(isExpired(expiresAt, nowMs));
        },
      ),
    );
  });
});
