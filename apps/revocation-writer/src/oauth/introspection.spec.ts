import { ruleKey, STANDARD_RULE_CLAIMS } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import type { IssuerConfig } from '../config/config';
import {
  candidateRuleKeys,
  claimsToCheck,
  introspectionResponse,
  withinIssuerLifetime,
} from './introspection';
import type { VerifiedJwt } from './token-verifier';

const ISS = 'https://idp.example';
const issuer: IssuerConfig = {
  issuer: ISS,
  jwks: { keys: [{ kty: 'EC' }] },
  algorithms: ['ES256'],
  tokenClaims: [],
  sessionLifetimeSeconds: 14 * 86_400,
  refreshTokenLifetimeSeconds: 14 * 86_400,
  maxTokenLifetimeSeconds: 3600,
};
const jwt = (payload: Record<string, unknown>, kid = 'k1'): VerifiedJwt => ({
  payload: { iss: ISS, ...payload },
  header: { alg: 'ES256', kid },
  issuer,
});

describe(candidateRuleKeys.name, () => {
  const claims = claimsToCheck(
    jwt({ sub: 'alice', azp: 'app', sid: 's1', jti: 'j1', device_id: 'd1', tenant: 42 }),
    'hash',
  );

  it('lists, for every rule claim the token carries, the issuer-free and the issuer-scoped key', () => {
    const keys = candidateRuleKeys(claims, [
      ...STANDARD_RULE_CLAIMS,
      'device_id',
      'tenant',
      'email',
    ]);
    const both = (claim: string, value: string) => [
      ruleKey({ claim, value, iss: null }),
      ruleKey({ claim, value, iss: ISS }),
    ];
    expect(keys).toEqual([
      ...both('jti', 'j1'),
      ...both('sub', 'alice'),
      ...both('client_id', 'app'), // from azp
      ...both('sid', 's1'),
      ...both('iss', ISS),
      ...both('kid', 'k1'),
      ...both('token_hash', 'hash'),
      ...both('device_id', 'd1'),
      // tenant is not a string and email is absent: no rule can match them
    ]);
  });

  it('finds every rule the deny-list would match for the token (the same reading of claims)', () => {
    const allClaims = ['jti', 'sub', 'client_id', 'sid', 'iss', 'kid', 'token_hash', 'device_id'];
    const keys = new Set(candidateRuleKeys(claims, allClaims));
    for (const claim of allClaims) {
      for (const iss of [null, ISS]) {
        const value = claim === 'client_id' ? 'app' : String(claims[claim]);
        const list = new DenyList();
        const rule = { claim, value, iss, revokedBefore: null, expiresAt: null };
        list.apply({
          v: 1,
          type: 'rule.set',
          key: ruleKey(rule),
          seq: 1,
          revocationId: '7e958f39-ce5b-4822-8195-971b44219f44',
          committedAt: 0,
          rule,
        });
        expect(list.check(claims).revoked).toBe(true);
        expect(keys.has(ruleKey(rule))).toBe(true);
      }
    }
  });

  it('takes kid from the protected header, never from the payload', () => {
    const forged = claimsToCheck(jwt({ kid: 'payload-kid' }, 'header-kid'), 'h');
    expect(forged.kid).toBe('header-kid');
  });
});

describe(withinIssuerLifetime.name, () => {
  it("is true only for tokens with exp and iat living at most the issuer's longest lifetime", () => {
    expect(withinIssuerLifetime(jwt({ iat: 1000, exp: 4600 }))).toBe(true);
    expect(withinIssuerLifetime(jwt({ iat: 1000, exp: 4601 }))).toBe(false);
    expect(withinIssuerLifetime(jwt({ exp: 4600 }))).toBe(false);
    expect(withinIssuerLifetime(jwt({ iat: 1000 }))).toBe(false);
  });
});

describe(introspectionResponse.name, () => {
  it('returns the RFC 7662 §2.2 members the token has, and leaves out those it lacks', () => {
    expect(
      introspectionResponse(
        jwt({ sub: 'alice', client_id: 'app', scope: 'read write', aud: ['api'], iat: 1, exp: 2 }),
      ),
    ).toStrictEqual({
      active: true,
      scope: 'read write',
      client_id: 'app',
      token_type: 'Bearer',
      exp: 2,
      iat: 1,
      sub: 'alice',
      aud: ['api'],
      iss: ISS,
    });
  });

  it('returns sid, auth_time, acr, amr and every other claim of the token (RFC 9068 §2.2)', () => {
    const claims = {
      sub: 'alice',
      jti: 'j',
      sid: 's-1',
      auth_time: 1000,
      acr: 'urn:mace:incommon:iap:silver',
      amr: ['pwd', 'otp'],
      cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
      azp: 'app',
      email: 'alice@example.com',
      groups: ['admins'],
      tenant: 42,
    };
    expect(introspectionResponse(jwt(claims))).toStrictEqual({
      active: true,
      client_id: 'app',
      token_type: 'Bearer',
      iss: ISS,
      ...claims,
    });
  });

  it('reads scp arrays, preferred_username and DPoP binding, and still returns those claims', () => {
    expect(
      introspectionResponse(
        jwt({ scp: ['read', 'write'], preferred_username: 'alice', cnf: { jkt: 'x' } }),
      ),
    ).toStrictEqual({
      active: true,
      scope: 'read write',
      username: 'alice',
      token_type: 'DPoP',
      iss: ISS,
      scp: ['read', 'write'],
      preferred_username: 'alice',
      cnf: { jkt: 'x' },
    });
  });

  it('never lets the payload speak for a member it computes, nor hands out a mistyped one', () => {
    const answer = introspectionResponse(
      jwt({
        active: false,
        token_type: 'N_A',
        sid: 7,
        amr: 'pwd',
        aud: [1],
        exp: '2',
        scope: ['read'],
      }),
    );
    expect(answer).toStrictEqual({ active: true, token_type: 'Bearer', iss: ISS });
  });

  it('keeps a claim named __proto__ a claim, without touching the prototype', () => {
    const payload = JSON.parse('{"sub": "alice", "__proto__": {"active": false}}') as object;
    const answer = introspectionResponse(jwt(payload as Record<string, unknown>));
    expect(Object.getPrototypeOf(answer)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(answer))).toMatchObject({ active: true, sub: 'alice' });
    expect(Object.prototype.hasOwnProperty.call(answer, '__proto__')).toBe(true);
  });

  it('adds nothing of its own: not the header kid, not the token hash', () => {
    const answer = introspectionResponse(jwt({ sub: 'alice' }, 'header-kid'));
    expect(Object.keys(answer).sort()).toEqual(['active', 'iss', 'sub', 'token_type']);
  });
});
