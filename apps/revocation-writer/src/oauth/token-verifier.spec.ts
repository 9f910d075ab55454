import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import type { IssuerConfig } from '../config/config';
import { decodeJwtPayload, TokenVerifier, tokenSha256 } from './token-verifier';

const ISS = 'https://idp.unit.example';
const now = () => Math.floor(Date.now() / 1000);

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

describe(TokenVerifier.name, () => {
  let signingKey: Awaited<ReturnType<typeof keyPair>>;
  let otherKey: Awaited<ReturnType<typeof keyPair>>;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    signingKey = await keyPair('k1');
    otherKey = await keyPair('k1'); // same kid, other key: a forgery
    const issuer: IssuerConfig = {
      issuer: ISS,
      jwks: { keys: [signingKey.jwk] },
      algorithms: ['ES256'],
      tokenClaims: [],
      sessionLifetimeSeconds: 14 * 86_400,
      refreshTokenLifetimeSeconds: 14 * 86_400,
      maxTokenLifetimeSeconds: 3600,
    };
    verifier = new TokenVerifier([issuer]);
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
    const unreachable = new TokenVerifier([
      {
        issuer: ISS,
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        jwksUri: 'http://127.0.0.1:9/jwks.json',
        algorithms: ['ES256'],
        tokenClaims: [],
        sessionLifetimeSeconds: 14 * 86_400,
        refreshTokenLifetimeSeconds: 14 * 86_400,
        maxTokenLifetimeSeconds: 3600,
      },
    ]);
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
