import { loadConfig } from '../config/config';
import { httpStatus } from '../http/problem-details';
import { RulePolicy } from '../write-path/rule-policy';
import {
  GlobalRevocationRequestError,
  idempotencyKey,
  parseGlobalRevocationRequest,
  ruleForSubject,
} from './global-revocation';

const ISS = 'https://idp.example';
const NOW = 1_700_000_000_000;
const policyWith = (customClaims: string) =>
  new RulePolicy(
    loadConfig({
      INGEST_AUTH_DISABLED: 'true',
      MAX_TOKEN_LIFETIME_SECONDS: '86400',
      CUSTOM_RULE_CLAIMS: customClaims,
      ISSUERS: JSON.stringify([
        { issuer: ISS, jwks: { keys: [{ kty: 'EC' }] }, maxTokenLifetimeSeconds: 3600 },
      ]),
    }),
  );
const policy = policyWith('email');
const DAY = 86_400_000;

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof GlobalRevocationRequestError) {
      expect(httpStatus(e.code)).toBe(400);
      return e.code;
    }
    throw e;
  }
  throw new Error('expected a GlobalRevocationRequestError');
}

describe(parseGlobalRevocationRequest.name, () => {
  it('reads the RFC 9493 formats it supports', () => {
    const subject = { format: 'iss_sub', iss: ISS, sub: 'alice' };
    expect(parseGlobalRevocationRequest({ sub_id: subject })).toEqual(subject);
    expect(
      parseGlobalRevocationRequest({ sub_id: { format: 'opaque', id: 'u1', extra: 1 } }),
    ).toEqual({
      format: 'opaque',
      id: 'u1',
    });
  });

  it.each([
    ['phone_number', { format: 'phone_number', phone_number: '+12065550100' }],
    ['account', { format: 'account', uri: 'acct:alice@example.com' }],
    ['an unknown format', { format: 'shoe_size', size: 44 }],
  ])('answers unsupported_subject_format for %s', (_, subId) => {
    expect(codeOf(() => parseGlobalRevocationRequest({ sub_id: subId }))).toBe(
      'unsupported_subject_format',
    );
  });

  it.each([
    ['no sub_id', {}],
    ['a sub_id without format', { sub_id: { sub: 'alice' } }],
    ['iss_sub without sub', { sub_id: { format: 'iss_sub', iss: ISS } }],
    ['an email that is not one', { sub_id: { format: 'email', email: 'alice' } }],
    [
      'a value longer than a rule can carry',
      { sub_id: { format: 'opaque', id: 'x'.repeat(1025) } },
    ],
    ['an array', []],
  ])('answers invalid_request for %s', (_, body) => {
    expect(codeOf(() => parseGlobalRevocationRequest(body))).toBe('invalid_request');
  });

  it.each([
    [
      'a NUL in sub',
      { format: 'iss_sub', iss: ISS, sub: 'a\u0000b' },
      /^sub_id\.sub: must not contain U\+0000 \(NUL, at index 1\)/,
    ],
    [
      'a NUL in iss',
      { format: 'iss_sub', iss: `${ISS}\u0000`, sub: 'alice' },
      /^sub_id\.iss: must not contain U\+0000/,
    ],
    [
      'a lone surrogate in an opaque id',
      { format: 'opaque', id: '\udc00' },
      /^sub_id\.id: must not contain a lone surrogate \(U\+DC00 at index 0\)/,
    ],
  ])(
    'refuses text PostgreSQL cannot store as sent with invalid_request naming the member: %s',
    (_, subId, message) => {
      expect(() => parseGlobalRevocationRequest({ sub_id: subId })).toThrow(message);
      expect(codeOf(() => parseGlobalRevocationRequest({ sub_id: subId }))).toBe('invalid_request');
    },
  );
});

describe(ruleForSubject.name, () => {
  it("revokes everything of the issuer's subject, grant-wide: every token until no earlier grant can mint", () => {
    // The issuer's tokens carry no auth_time: nothing tells a new login from an old grant.
    expect(ruleForSubject({ format: 'iss_sub', iss: ISS, sub: 'alice' }, policy, NOW)).toEqual({
      claim: 'sub',
      value: 'alice',
      iss: ISS,
      revokedBefore: NOW + 14 * DAY,
      expiresAt: NOW + 14 * DAY + 3_600_000,
      grantWide: true,
      origin: { value: '/sub_id/sub', iss: '/sub_id/iss' },
    });
  });

  it('revokes by authentication time for an issuer whose tokens carry auth_time: a new login passes', () => {
    const withAuthTime = new RulePolicy(
      loadConfig({
        INGEST_AUTH_DISABLED: 'true',
        ISSUERS: JSON.stringify([
          {
            issuer: ISS,
            jwks: { keys: [{ kty: 'EC' }] },
            maxTokenLifetimeSeconds: 3600,
            tokenClaims: ['auth_time'],
            refreshTokenLifetimeSeconds: 30 * 86_400,
          },
        ]),
      }),
    );
    expect(
      ruleForSubject({ format: 'iss_sub', iss: ISS, sub: 'alice' }, withAuthTime, NOW),
    ).toMatchObject({
      revokedBefore: NOW,
      cutoff: 'auth_time',
      expiresAt: NOW + 30 * DAY + 3_600_000,
    });
  });

  it('revokes an opaque id as a sub of any issuer, for the longest grant and token lifetimes', () => {
    expect(ruleForSubject({ format: 'opaque', id: 'u1' }, policy, NOW)).toEqual({
      claim: 'sub',
      value: 'u1',
      iss: null,
      revokedBefore: NOW + 14 * DAY,
      expiresAt: NOW + 14 * DAY + DAY,
      grantWide: true,
      origin: { value: '/sub_id/id' },
    });
  });

  it('revokes on the email claim only where email is a configured rule claim', () => {
    const email = { format: 'email' as const, email: 'alice@example.com' };
    expect(ruleForSubject(email, policy, NOW)).toMatchObject({
      claim: 'email',
      value: 'alice@example.com',
      iss: null,
    });
    expect(codeOf(() => ruleForSubject(email, policyWith('device_id'), NOW))).toBe(
      'unsupported_subject_format',
    );
  });

  it('refuses, as a malformed request naming the member, a subject whose rule key would exceed the contract', () => {
    const subject = { format: 'iss_sub' as const, iss: ISS, sub: '漢'.repeat(1024) };
    expect(() => ruleForSubject(subject, policy, NOW)).toThrow(
      /^sub_id\.sub: encodes to a rule key of 9,246 characters; the limit is 2,048$/,
    );
    expect(codeOf(() => ruleForSubject(subject, policy, NOW))).toBe('invalid_request');
  });
});

describe(idempotencyKey.name, () => {
  it('reads a Structured Field string or a bare token', () => {
    expect(idempotencyKey(undefined)).toBeUndefined();
    expect(idempotencyKey('"8e03978e-40d5 x"')).toBe('8e03978e-40d5 x');
    expect(idempotencyKey('8e03978e')).toBe('8e03978e');
  });

  it.each([[''], ['"unterminated'], ['with space'], ['x'.repeat(256)], [['a', 'b']]])(
    'refuses %j',
    (header) => {
      expect(codeOf(() => idempotencyKey(header))).toBe('invalid_request');
    },
  );
});
