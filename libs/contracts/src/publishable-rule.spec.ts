import { randomUUID } from 'node:crypto';
import { InvalidationEventV1Schema, type RuleV1, RuleV1Schema } from './invalidation';
import { publishingProblems } from './publishable-rule';
import { MAX_RULE_KEY_LENGTH, ruleKey } from './rule-key';

const rule = (over: Partial<RuleV1> = {}): RuleV1 => ({
  claim: 'sub',
  value: 'alice',
  iss: 'https://idp.example',
  revokedBefore: 1_700_000_000_000,
  expiresAt: null,
  ...over,
});

describe(publishingProblems.name, () => {
  it('finds nothing in a rule enforcement points can apply', () => {
    expect(publishingProblems(rule())).toEqual([]);
  });

  it.each([
    ['a NUL in the value', { value: 'a\u0000b' }, 'value', /U\+0000/],
    ['a NUL in the issuer', { iss: 'https://idp.example/\u0000' }, 'iss', /U\+0000/],
    ['a lone surrogate in the value', { value: 'a\ud800b' }, 'value', /lone surrogate \(U\+D800/],
    ['a value longer than 1024', { value: 'a'.repeat(1025) }, 'value', /<=1024/],
    ['a claim that is not a claim name', { claim: 'Sub' }, 'claim', /lower-case claim name/],
  ])('names the member of %s', (_, over, field, detail) => {
    expect(publishingProblems(rule(over))).toEqual([
      { field, detail: expect.stringMatching(detail) as string },
    ]);
  });

  it('refuses a key longer than MAX_RULE_KEY_LENGTH although each part is within its own limit', () => {
    const cjk = rule({ value: '漢'.repeat(1024), iss: null });
    expect(RuleV1Schema.safeParse(cjk).success).toBe(true);
    expect(publishingProblems(cjk)).toEqual([
      {
        field: 'value',
        detail: 'encodes to a rule key of 9,221 characters; the limit is 2,048',
        keyLength: 9221,
      },
    ]);
  });
});

describe('InvalidationEventV1Schema key', () => {
  const event = (key: string) => ({
    v: 1,
    type: 'rule.set',
    key,
    seq: 1,
    revocationId: randomUUID(),
    committedAt: 0,
    rule: rule(),
  });

  it(`carries keys of up to MAX_RULE_KEY_LENGTH (${MAX_RULE_KEY_LENGTH}) characters, which fit PostgreSQL's btree entries`, () => {
    expect(MAX_RULE_KEY_LENGTH).toBe(2048);
    expect(InvalidationEventV1Schema.safeParse(event(ruleKey(rule()))).success).toBe(true);
    expect(
      InvalidationEventV1Schema.safeParse(event('k'.repeat(MAX_RULE_KEY_LENGTH))).success,
    ).toBe(true);
    expect(
      InvalidationEventV1Schema.safeParse(event('k'.repeat(MAX_RULE_KEY_LENGTH + 1))).success,
    ).toBe(false);
  });
});
