import { expectedCutoffs, setCatalogue } from '../../../../test/support/event-catalogue';
import { pointersOf } from '../../../../test/support/rule-fixtures';
import { CAEP, RISC } from '../../../../test/support/ssf-transmitter';
import { loadConfig } from '../config/config';
import { assertPublishable } from '../write-path/publishable-rules';
import { RulePolicy } from '../write-path/rule-policy';
import { mapSecurityEvents, UnsupportedSubjectError } from './set-event.mapper';

const DAY = 86_400_000;
const ISS = 'https://idp.example.com';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';
/** 300 characters, within a rule value's 1,024; percent-encoded, 2,700 of a rule key's 2,048. */
const TOO_LONG_FOR_A_KEY = '漢'.repeat(300);
/** When the writer received the SET. */
const RECEIVED = Date.parse('2031-05-04T03:02:01Z');

const policyOf = (env: Record<string, string> = {}) =>
  new RulePolicy(
    loadConfig({ INGEST_AUTH_DISABLED: 'true', MAX_TOKEN_LIFETIME_SECONDS: '86400', ...env }),
  );
const policy = policyOf({ CUSTOM_RULE_CLAIMS: 'email' });

/** The reference tokens of a JSON Pointer (RFC 6901 §4: `~1` is `/`, then `~0` is `~`). */
const tokensOf = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));

/** The member `pointer` names in `document`. */
const at = (document: unknown, pointer: string): unknown =>
  tokensOf(pointer).reduce<unknown>(
    (node, token) => (node as Record<string, unknown> | undefined)?.[token],
    document,
  );

/** A copy of `document` with the member at `pointer` replaced by `value`. */
function withMember<T>(document: T, pointer: string, value: unknown): T {
  const copy = structuredClone(document);
  const path = tokensOf(pointer);
  const parent = path
    .slice(0, -1)
    .reduce(
      (node, token) => node[token] as Record<string, unknown>,
      copy as Record<string, unknown>,
    );
  parent[path.at(-1)!] = value;
  return copy;
}

describe(mapSecurityEvents.name, () => {
  const catalogue = setCatalogue('m');

  it.each(catalogue.map((entry) => [entry.name, entry] as const))(
    'maps %s to the catalogued rule, timed from receipt',
    (_, entry) => {
      const { rules } = mapSecurityEvents(entry.events, entry.subId, RECEIVED, policy);

      expect(rules).toEqual([
        {
          ...entry.rule,
          ...expectedCutoffs(entry, RECEIVED, { tokenMs: DAY, grantMs: 14 * DAY }),
          origin: {
            value: entry.field,
            ...(entry.issField !== undefined && { iss: entry.issField }),
          },
        },
      ]);
    },
  );

  it.each(catalogue.map((entry) => [entry.name, entry] as const))(
    'names, for %s, the members of the SET the value and issuer came from',
    (_, entry) => {
      const claims = { events: entry.events, sub_id: entry.subId };
      const [rule] = mapSecurityEvents(entry.events, entry.subId, RECEIVED, policy).rules;
      const named = String(at(claims, rule!.origin!.value));
      expect(entry.rule.claim === 'email' ? named.toLowerCase() : named).toBe(rule!.value);
      expect(rule!.origin!.iss === undefined ? null : at(claims, rule!.origin!.iss)).toBe(
        rule!.iss,
      );
    },
  );

  it.each(catalogue.map((entry) => [entry.name, entry] as const))(
    'refuses %s when its rule could not be published, naming the member of the SET',
    (_, entry) => {
      // Where the catalogue says the value comes from: a value whose rule key is too long.
      const claims = withMember(
        { events: entry.events, sub_id: entry.subId },
        entry.field,
        TOO_LONG_FOR_A_KEY,
      );
      const { rules } = mapSecurityEvents(claims.events, claims.sub_id, RECEIVED, policy);
      expect(pointersOf(() => assertPublishable(rules))).toEqual([entry.field]);
    },
  );

  it('maps each revoking event of one SET, and names them all in the reason', () => {
    const user = { format: 'iss_sub', iss: ISS, sub: 'u-both' };
    const mapped = mapSecurityEvents(
      { [`${RISC}account-disabled`]: {}, [`${CAEP}credential-change`]: {} },
      user,
      RECEIVED,
      policy,
    );
    expect(mapped.rules.map((r) => r.value)).toEqual(['u-both', 'u-both']);
    expect(mapped.reason).toBe('ssf account-disabled, credential-change');
  });

  it('records stream and non-revoking events without a rule', () => {
    const mapped = mapSecurityEvents(
      {
        [`${SSF}verification`]: { state: 'abc' },
        [`${CAEP}assurance-level-change`]: {},
      },
      { format: 'opaque', id: 'stream-1' },
      RECEIVED,
      policy,
    );
    expect(mapped).toEqual({
      rules: [],
      reason:
        'ssf verification (stream event, recorded), assurance-level-change (not a revocation event, recorded)',
    });
  });

  it.each([
    [
      'an email subject when email is not a rule claim',
      { format: 'email', email: 'a@b.example' },
      policyOf(),
    ],
    ['a phone number subject', { format: 'phone_number', phone_number: '+1 555 0100' }, policy],
    ['an iss_sub subject without an issuer', { format: 'iss_sub', sub: 'u-1' }, policy],
    ['no subject at all', undefined, policy],
  ])('refuses %s', (_, subject, withPolicy) => {
    expect(() =>
      mapSecurityEvents({ [`${RISC}account-disabled`]: {} }, subject, RECEIVED, withPolicy),
    ).toThrow(UnsupportedSubjectError);
  });
});
