import { loadConfig } from '../config/config';
import { RulePolicy } from '../rules/rule-policy';
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

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof GlobalRevocationRequestError) {
      expect(e.status).toBe(400);
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
});

describe(ruleForSubject.name, () => {
  it("revokes the issuer's subject up to the receive time, expiring with the issuer's lifetime", () => {
    expect(ruleForSubject({ format: 'iss_sub', iss: ISS, sub: 'alice' }, policy, NOW)).toEqual({
      claim: 'sub',
      value: 'alice',
      iss: ISS,
      revokedBefore: NOW,
      expiresAt: NOW + 3_600_000,
    });
  });

  it('revokes an opaque id as a sub of any issuer', () => {
    expect(ruleForSubject({ format: 'opaque', id: 'u1' }, policy, NOW)).toEqual({
      claim: 'sub',
      value: 'u1',
      iss: null,
      revokedBefore: NOW,
      expiresAt: NOW + 86_400_000,
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
