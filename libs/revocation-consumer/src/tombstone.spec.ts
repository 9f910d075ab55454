import { ruleKey } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import fc from 'fast-check';
import { identityOfKey, tombstoneOutcome } from './tombstone';

describe(identityOfKey.name, () => {
  it('inverts ruleKey, percent-encoding and lone surrogates included', () => {
    const text = fc.string({ minLength: 1, unit: 'binary' });
    const identity = fc.record({
      claim: fc.constantFrom('sub', 'jti', 'sid', 'device_id'),
      value: fc.oneof(text, fc.string({ minLength: 1 })),
      iss: fc.option(text, { nil: null }),
    });
    fc.assert(
      fc.property(identity, (id) => {
        expect(identityOfKey(ruleKey(id))).toEqual(id);
      }),
    );
  });

  it('refuses what is not a rule key', () => {
    expect(identityOfKey('heartbeat:3')).toBeUndefined();
    expect(identityOfKey('sub::a:b')).toBeUndefined();
    expect(identityOfKey('sub::%E0%A4%A')).toBeUndefined(); // malformed escape
    expect(identityOfKey('sub::a%3ab')).toBeUndefined(); // not the canonical encoding
    expect(identityOfKey('::alice')).toBeUndefined();
  });
});

describe(tombstoneOutcome.name, () => {
  const list = new DenyList();
  const set = (value: string, seq: number, expiresAt: number | null) =>
    list.apply({
      v: 1,
      type: 'rule.set',
      key: ruleKey({ claim: 'jti', value }),
      seq,
      revocationId: '00000000-0000-4000-8000-000000000001',
      committedAt: 0,
      rule: { claim: 'jti', value, iss: null, revokedBefore: null, expiresAt },
    });

  it('removes only a version that has expired by this clock (a tombstone has no seq to compare)', () => {
    expect(tombstoneOutcome(set('expired', 1, 1000), 1000)).toBe('removed');
    expect(tombstoneOutcome(set('live', 2, 1001), 1000)).toBe('ignored');
    expect(tombstoneOutcome(set('forever', 3, null), 1000)).toBe('ignored');
    expect(tombstoneOutcome(undefined, 1000)).toBe('absent');
  });
});
