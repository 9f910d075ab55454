import { loadConfig } from '../config/config';
import { RulePolicy } from '../write-path/rule-policy';
import {
  minimumForJwt,
  minimumForOpaqueToken,
  revocationRuleForJwt,
  revocationRuleForOpaqueToken,
} from './revocation-rules';

const ISS = 'https://idp.example';
const NOW = 1_700_000_000_000;
/** The issuer's grant lifetime: sessions and refresh tokens, 14 days unless configured. */
const GRANT = 14 * 86_400_000;
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

  it("revokes the session when the token names one, for as long as a session can mint: the issuer's grant and token lifetimes", () => {
    const payload = { iss: ISS, sid: 's-1', jti: 'j-1', exp };
    expect(revocationRuleForJwt(payload, 'hash', policy, NOW)).toEqual({
      scope: 'session',
      rule: {
        claim: 'sid',
        value: 's-1',
        iss: ISS,
        revokedBefore: null,
        expiresAt: NOW + GRANT + 3_600_000,
      },
    });
  });

  it('keeps a session rule until the presented token expires, if it lives longer than configured', () => {
    const late = NOW / 1000 + 15 * 86_400;
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

  it('falls back past a sid or jti that enforcement points could not apply (NUL, lone surrogate, key too long)', () => {
    const payload = { iss: ISS, sid: 's\u0000', jti: 'j\ud800', exp };
    expect(revocationRuleForJwt(payload, 'hash', policy, NOW).rule.claim).toBe('token_hash');
    const cjk = { iss: ISS, sid: '漢'.repeat(300), jti: 'j-1', exp };
    expect(revocationRuleForJwt(cjk, 'hash', policy, NOW).rule).toMatchObject({
      claim: 'jti',
      value: 'j-1',
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

describe(minimumForJwt.name, () => {
  const HOUR = 3_600_000;
  const iat = NOW / 1000 - 600; // issued ten minutes ago
  const exp = NOW / 1000 + 300;

  it("asks of a session rule what it would have been when the token was issued: the issuer's lifetimes from iat", () => {
    const payload = { iss: ISS, sid: 's-1', iat, exp };
    expect(minimumForJwt(payload, 'h', policy, NOW)).toEqual({
      revokedBefore: null,
      expiresAt: iat * 1000 + GRANT + HOUR,
    });
    // Less than the rule written now, so the rule written by the first revocation suffices.
    expect(minimumForJwt(payload, 'h', policy, NOW).expiresAt).toBeLessThan(
      revocationRuleForJwt(payload, 'h', policy, NOW).rule.expiresAt!,
    );
  });

  it('asks a session rule to outlive a token that lives longer than the issuer says', () => {
    const late = NOW / 1000 + 15 * 86_400;
    expect(minimumForJwt({ iss: ISS, sid: 's-1', iat, exp: late }, 'h', policy, NOW)).toEqual({
      revokedBefore: null,
      expiresAt: late * 1000,
    });
  });

  it('asks of a token rule to last until the token expires', () => {
    expect(minimumForJwt({ iss: ISS, jti: 'j-1', iat, exp }, 'h', policy, NOW)).toEqual({
      revokedBefore: null,
      expiresAt: exp * 1000,
    });
  });

  it('asks for the whole rule when the token has no iat, or one in the future', () => {
    for (const payload of [
      { iss: ISS, sid: 's-1', exp },
      { iss: ISS, sid: 's-1', iat: NOW / 1000 + 60, exp },
    ]) {
      const { revokedBefore, expiresAt } = revocationRuleForJwt(payload, 'h', policy, NOW).rule;
      expect(minimumForJwt(payload, 'h', policy, NOW)).toEqual({ revokedBefore, expiresAt });
    }
  });
});

describe(minimumForOpaqueToken.name, () => {
  it('asks for a rule on the hash that is still in force now', () => {
    expect(minimumForOpaqueToken(NOW)).toEqual({ revokedBefore: null, expiresAt: NOW });
  });
});
