import fc from 'fast-check';
import { ruleKey } from './rule-key';

describe(ruleKey.name, () => {
  it('is readable for the common case', () => {
    expect(ruleKey({ claim: 'sub', value: 'alice' })).toBe('sub::alice');
    expect(ruleKey({ claim: 'sub', value: 'a:b', iss: 'https://idp.example' })).toBe(
      'sub:https%3A%2F%2Fidp.example:a%3Ab',
    );
  });

  it('encodes lone surrogates instead of throwing', () => {
    expect(ruleKey({ claim: 'jti', value: 'a\uD800b' })).toBe('jti::a%uD800b');
    expect(ruleKey({ claim: 'jti', value: '\uDC00' })).toBe('jti::%uDC00');
  });

  it('is injective: different identities never share a key, lone surrogates included', () => {
    const text = fc.string({ minLength: 1, unit: 'binary' });
    const identity = fc.record({
      claim: fc.constantFrom('sub', 'jti', 'sid'),
      value: fc.oneof(text, fc.string({ minLength: 1 })),
      iss: fc.option(text, { nil: null }),
    });
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        const same = a.claim === b.claim && a.value === b.value && a.iss === b.iss;
        expect(ruleKey(a) === ruleKey(b)).toBe(same);
      }),
    );
  });
});
