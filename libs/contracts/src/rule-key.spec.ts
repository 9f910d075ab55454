import fc from 'fast-check';
import { MAX_RULE_KEY_LENGTH, ruleKey, ruleKeyLengthProblem } from './rule-key';

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

describe(ruleKeyLengthProblem.name, () => {
  const ascii = (n: number) => 'a'.repeat(n);

  it(`accepts a key of exactly MAX_RULE_KEY_LENGTH (${MAX_RULE_KEY_LENGTH}) characters and refuses one more`, () => {
    const fits = { claim: 'sub', value: ascii(MAX_RULE_KEY_LENGTH - 'sub::'.length) };
    expect(ruleKey(fits)).toHaveLength(MAX_RULE_KEY_LENGTH);
    expect(ruleKeyLengthProblem(fits)).toBeUndefined();
    expect(ruleKeyLengthProblem({ ...fits, value: `${fits.value}a` })).toEqual({
      field: 'value',
      length: 2049,
      detail: 'encodes to a rule key of 2,049 characters; the limit is 2,048',
    });
  });

  it('counts the key as encoded: 3 characters per ASCII punctuation mark, 9 per CJK character', () => {
    expect(ruleKeyLengthProblem({ claim: 'sub', value: '/'.repeat(700) })?.length).toBe(2105);
    expect(ruleKeyLengthProblem({ claim: 'sub', value: '漢'.repeat(1024) })?.length).toBe(9221);
  });

  it('names the part that makes the key long: the issuer when it encodes longer than the value', () => {
    const iss = `https://idp.example/${'a/'.repeat(700)}`;
    expect(ruleKeyLengthProblem({ claim: 'sub', value: 'alice', iss })).toMatchObject({
      field: 'iss',
      length: ruleKey({ claim: 'sub', value: 'alice', iss }).length,
    });
  });

  it('measures lone surrogates as ruleKey encodes them (ruleKey stays total for consumers)', () => {
    const value = '\ud800'.repeat(400);
    expect(ruleKeyLengthProblem({ claim: 'sub', value })?.length).toBe(
      ruleKey({ claim: 'sub', value }).length,
    );
  });
});
