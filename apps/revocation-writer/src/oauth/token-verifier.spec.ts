import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import type { IssuerConfig } from '../config/config';
import { decodeJwtPayload, TokenVerifier, tokenSha256 } from './token-verifier';

const ISS = 'https://idp.unit.example';
const now = () => Math.floor(Date.now() / 1000);

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** The test issuer, its keys inline (or at `keys`, a JWKS URL). */
function issuerOf(keys: Record<string, unknown> | string): IssuerConfig {
  return {
    issuer: ISS,
    ...(typeof keys === 'string' ? { jwksUri: keys } : { jwks: { keys: [keys] } }),
    algorithms: ['ES256'],
    tokenClaims: [],
    sessionLifetimeSeconds: 14 * 86_400,
    refreshTokenLifetimeSeconds: 14 * 86_400,
    maxTokenLifetimeSeconds: 3600,
  };
}

describe(TokenVerifier.name, () => {
  let signingKey: Awaited<ReturnType<typeof keyPair>>;
  let otherKey: Awaited<ReturnType<typeof keyPair>>;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    signingKey = await keyPair('k1');
    otherKey = await keyPair('k1'); // same kid, other key: a forgery
    verifier = new TokenVerifier([issuerOf(signingKey.jwk)]);
  });

  const sign = (claims: JWTPayload, key = signingKey.privateKey) =>
    new SignJWT({ iss: ISS, iat: now(), exp: now() + 600, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(key);

  it('accepts a genuine token and returns its payload and header', async () => {
    const result = await verifier.verify(await sign({ sub: 'alice' }));
    expect(result).toMatchObject({
      status: 'valid',
      jwt: { payload: { sub: 'alice', iss: ISS }, header: { alg: 'ES256', kid: 'k1' } },
    });
  });

  it('calls a token signed by another key invalid', async () => {
    const result = await verifier.verify(await sign({ sub: 'alice' }, otherKey.privateKey));
    expect(result).toMatchObject({ status: 'invalid' });
  });

  it('calls a token of an unknown issuer invalid without looking for keys', async () => {
    expect(await verifier.verify(await sign({ iss: 'https://evil.example' }))).toMatchObject({
      status: 'invalid',
    });
  });

  it('refuses alg "none" and HMAC, whatever the payload says', async () => {
    const unsecured = new UnsecuredJWT({ iss: ISS, sub: 'alice' }).encode();
    const hmac = await new SignJWT({ iss: ISS, sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('a shared secret that nobody should use'));
    expect(await verifier.verify(unsecured)).toMatchObject({ status: 'invalid' });
    expect(await verifier.verify(hmac)).toMatchObject({ status: 'invalid' });
  });

  it('tells an expired token and a not-yet-valid one apart from a forged one', async () => {
    expect(
      await verifier.verify(await sign({ iat: now() - 7200, exp: now() - 3600 })),
    ).toMatchObject({
      status: 'expired',
    });
    expect(await verifier.verify(await sign({ nbf: now() + 3600 }))).toMatchObject({
      status: 'premature',
      jwt: { payload: { iss: ISS }, header: { kid: 'k1' } },
    });
  });

  it('says unavailable, not invalid, when the key endpoint cannot be reached', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const unreachable = new TokenVerifier([issuerOf('http://127.0.0.1:9/jwks.json')]);
    expect(await unreachable.verify(await sign({ sub: 'alice' }))).toMatchObject({
      status: 'unavailable',
    });
  });
});

describe(decodeJwtPayload.name, () => {
  it('decodes a JWS JWT and nothing else', () => {
    const jwt = new UnsecuredJWT({ iss: ISS }).encode();
    expect(decodeJwtPayload(jwt)).toEqual({ iss: ISS });
    expect(decodeJwtPayload('2YotnFZFEjr1zCsicMWpAA')).toBeUndefined();
    expect(decodeJwtPayload('a.b.c')).toBeUndefined();
    expect(decodeJwtPayload('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d')).toBeUndefined();
    expect(decodeJwtPayload('')).toBeUndefined();
  });
});

describe(tokenSha256.name, () => {
  it('gives the SHA-256 of the token in base64url and hex', () => {
    // SHA-256("abc"), FIPS 180-2 test vector.
    const hex = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(tokenSha256('abc')).toEqual({
      hex,
      base64url: Buffer.from(hex, 'hex').toString('base64url'),
    });
  });
});

describe('TokenVerifier: verified tokens remembered', () => {
  const T0 = 1_800_000_000_000; // ms, a fixed "now"
  let clock: number;
  let lookups: number;
  let verifier: TokenVerifier;
  let signingKey: Awaited<ReturnType<typeof keyPair>>;
  let forger: Awaited<ReturnType<typeof keyPair>>;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  /** The issuer's keys, counting every time a signature is actually checked against them. */
  const counted = (): JWTVerifyGetKey => {
    const keys = createLocalJWKSet({ keys: [signingKey.jwk] });
    return (header, token) => {
      lookups += 1;
      return keys(header, token);
    };
  };

  beforeAll(async () => {
    signingKey = await keyPair('k1');
    forger = await keyPair('k1');
  });

  beforeEach(() => {
    clock = T0;
    lookups = 0;
    verifier = new TokenVerifier([issuerOf(signingKey.jwk)], {
      now: () => clock,
      keySet: counted,
      maxVerified: 2,
    });
  });

  const sign = (claims: JWTPayload, key = signingKey.privateKey) =>
    new SignJWT({ iss: ISS, iat: seconds(T0), exp: seconds(T0) + 600, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(key);

  it('checks the signature of a token once a minute at most, and answers the same', async () => {
    const token = await sign({ sub: 'alice' });
    const first = await verifier.verify(token);
    clock += 59_000;
    const again = await verifier.verify(token, tokenSha256(token).base64url);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ status: 'valid', jwt: { payload: { sub: 'alice' } } });
    expect(lookups).toBe(1);

    clock += 2000; // past the minute: verified again
    expect(await verifier.verify(token)).toMatchObject({ status: 'valid' });
    expect(lookups).toBe(2);
  });

  it('never answers valid past exp: the token is verified again, and expired', async () => {
    const token = await sign({ sub: 'bob', exp: seconds(T0) + 30 });
    expect(await verifier.verify(token)).toMatchObject({ status: 'valid' });
    clock += 36_000; // exp + the 5 s tolerance has passed, the minute has not
    expect(await verifier.verify(token)).toMatchObject({ status: 'expired' });
    expect(lookups).toBe(2);
  });

  it('remembers nothing that was not valid: a forgery is checked, and refused, every time', async () => {
    const forged = await sign({ sub: 'alice' }, forger.privateKey);
    expect(await verifier.verify(forged)).toMatchObject({ status: 'invalid' });
    expect(await verifier.verify(forged)).toMatchObject({ status: 'invalid' });
    expect(lookups).toBe(2);
  });

  it('keeps at most maxVerified tokens, the oldest leaving first', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ sub })));
    for (const token of [a!, b!, c!]) {
      await verifier.verify(token);
    }
    expect(lookups).toBe(3);
    await verifier.verify(c!);
    await verifier.verify(b!);
    expect(lookups).toBe(3);
    await verifier.verify(a!); // evicted by c
    expect(lookups).toBe(4);
  });

  it('verifies every time with verifiedTtlMs 0', async () => {
    const uncached = new TokenVerifier([issuerOf(signingKey.jwk)], {
      now: () => clock,
      verifiedTtlMs: 0,
      keySet: counted,
    });
    const token = await sign({ sub: 'carol' });
    await uncached.verify(token);
    await uncached.verify(token);
    expect(lookups).toBe(2);
  });
});
