import { exportJWK, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';

export const TRANSMITTER_ISS = 'https://transmitter.example.com';
export const RECEIVER_AUD = 'https://rescind.example.com/ssf';
export const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
export const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

/** A Shared Signals transmitter for tests: signs SETs with its own ES256 key. */
export class TestTransmitter {
  private constructor(
    private readonly privateKey: KeyLike,
    readonly publicJwk: JWK,
  ) {}

  static async create(kid = 'transmitter-key-1'): Promise<TestTransmitter> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return new TestTransmitter(privateKey, {
      ...(await exportJWK(publicKey)),
      kid,
      alg: 'ES256',
      use: 'sig',
    });
  }

  /** The receiver's SSF_TRANSMITTERS entry for this transmitter. */
  config(): Record<string, unknown> {
    return { issuer: TRANSMITTER_ISS, audience: RECEIVER_AUD, jwks: { keys: [this.publicJwk] } };
  }

  /** Signs a SET; every field of a valid one can be overridden to make an invalid one. */
  sign(
    events: Record<string, Record<string, unknown>>,
    options: {
      jti?: string;
      iss?: string;
      aud?: string;
      typ?: string;
      exp?: number;
      subId?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const jwt = new SignJWT({ events, ...(options.subId ? { sub_id: options.subId } : {}) })
      .setProtectedHeader({
        alg: 'ES256',
        typ: options.typ ?? 'secevent+jwt',
        kid: this.publicJwk.kid,
      })
      .setIssuer(options.iss ?? TRANSMITTER_ISS)
      .setAudience(options.aud ?? RECEIVER_AUD)
      .setIssuedAt()
      .setJti(options.jti ?? randomUUID());
    if (options.exp !== undefined) {
      jwt.setExpirationTime(options.exp);
    }
    return jwt.sign(this.privateKey);
  }
}

/** An unsigned (`alg: none`) SET, as an attacker would send it. */
export function unsignedSet(payload: Record<string, unknown>): string {
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(payload)}.`;
}
