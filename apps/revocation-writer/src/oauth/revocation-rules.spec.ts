import { loadConfig } from '../config/config';
import { RulePolicy } from '../rules/rule-policy';
import {
  revocationRuleForJwt,
  revocationRuleForOpaqueToken,
  tokenClient,
} from './revocation-rules';

const ISS = 'https://idp.example';
const NOW = 1_700_000_000_000;
const policy = new RulePolicy(
  loadConfig({
    INGEST_AUTH_DISABLED: 'true',
    MAX_TOKEN_LIFETIME_SECONDS: '86400',
    ISSUERS: JSON.stringify([
      { issuer: ISS, jwks: { keys: [{ kty: 'EC' }] }, maxTokenLifetimeSeconds: 3600 },
    ]),
  }),
);

describe(revocationRuleForJwt.name, () => {
  const exp = NOW / 1000 + 300;

  it("revokes the session when the token names one, for the issuer's longest token lifetime", () => {
    const payload = { iss: ISS, sid: 's-1', jti: 'j-1', exp };
    expect(revocationRuleForJwt(payload, 'hash', policy, NOW)).toEqual({
      scope: 'session',
      rule: {
        claim: 'sid',
        value: 's-1',
        iss: ISS,
        revokedBefore: null,
        expiresAt: NOW + 3_600_000,
      },
    });
  });

  it('keeps a session rule until the presented token expires, if it lives longer than configured', () => {
    const late = NOW / 1000 + 7200;
    expect(
      revocationRuleForJwt({ iss: ISS, sid: 's-1', exp: late }, 'h', policy, NOW).rule.expiresAt,
    ).toBe(late * 1000);
  });

  it('revokes the one token by jti until it expires, when there is no session', () => {
    expect(revocationRuleForJwt({ iss: ISS, jti: 'j-1', exp }, 'hash', policy, NOW)).toEqual({
      scope: 'token',
      rule: { claim: 'jti', value: 'j-1', iss: ISS, revokedBefore: null, expiresAt: exp * 1000 },
    });
  });

  it('falls back to the token hash when the token has neither sid nor a usable jti', () => {
    const payload = { iss: ISS, sid: '', jti: 'x'.repeat(1025), exp };
    expect(revocationRuleForJwt(payload, 'hash', policy, NOW)).toEqual({
      scope: 'token hash',
      rule: {
        claim: 'token_hash',
        value: 'hash',
        iss: ISS,
        revokedBefore: null,
        expiresAt: exp * 1000,
      },
    });
  });

  it("lasts the issuer's token lifetime when the token has no exp", () => {
    expect(revocationRuleForJwt({ iss: ISS, jti: 'j' }, 'h', policy, NOW).rule.expiresAt).toBe(
      NOW + 3_600_000,
    );
  });
});

describe(revocationRuleForOpaqueToken.name, () => {
  it('revokes the hash for any issuer, for the longest token lifetime of all', () => {
    expect(revocationRuleForOpaqueToken('hash', policy, NOW)).toEqual({
      claim: 'token_hash',
      value: 'hash',
      iss: null,
      revokedBefore: null,
      expiresAt: NOW + 86_400_000,
    });
  });
});

describe(tokenClient.name, () => {
  it('reads client_id, else azp', () => {
    expect(tokenClient({ client_id: 'a', azp: 'b' })).toBe('a');
    expect(tokenClient({ azp: 'b' })).toBe('b');
    expect(tokenClient({ sub: 'alice' })).toBeUndefined();
    expect(tokenClient({ client_id: 42 })).toBeUndefined();
  });
});
