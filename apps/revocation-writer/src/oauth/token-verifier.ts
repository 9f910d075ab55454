import { createHash } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { signingKeySet } from '../auth/signing-keys';
import type { IssuerConfig } from '../config/config';

/** A JWT whose signature, issuer and algorithm were verified. */
export interface VerifiedJwt {
  payload: JWTPayload & { iss: string };
  header: ProtectedHeaderParameters;
  issuer: IssuerConfig;
}

/**
 * - `valid`: genuine and within its validity period;
 * - `premature`: genuine, but its `nbf` is still ahead;
 * - `expired`: genuine, but past its `exp`;
 * - `invalid`: forged, from an unknown issuer, with a refused algorithm, or malformed;
 * - `unavailable`: the issuer's keys could not be fetched, so nothing can be said yet.
 */
export type Verification =
  | { status: 'valid' | 'premature'; jwt: VerifiedJwt }
  | { status: 'expired' | 'invalid' | 'unavailable'; reason: string };

/** Clock skew tolerated between the issuer and us, for `exp` and `nbf` (seconds). */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Failures that say something about the token, not about the issuer's key endpoint. */
const TOKEN_FAILURES = [
  errors.JWSSignatureVerificationFailed,
  errors.JWSInvalid,
  errors.JWTInvalid,
  errors.JWTClaimValidationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
];

/** SHA-256 of a token: what is stored and logged instead of it (never the token itself). */
export function tokenSha256(token: string): { base64url: string; hex: string } {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  return { base64url: digest.toString('base64url'), hex: digest.toString('hex') };
}

/**
 * The unverified payload of a compact JWS JWT, or `undefined` for anything else (an opaque
 * token, a JWE): only to choose the issuer, never to decide anything.
 */
export function decodeJwtPayload(token: string): JWTPayload | undefined {
  try {
    decodeProtectedHeader(token);
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** How {@link TokenVerifier} reuses what it verified; the defaults are production's. */
export interface TokenVerifierOptions {
  /** The clock (ms since the epoch). */
  now?: () => number;
  /** The key set of an issuer: its JWKS (inline or remote) unless a test counts the lookups. */
  keySet?: (issuer: IssuerConfig) => JWTVerifyGetKey;
  /** A verified token is not verified again for this long (ms), never past its `exp`; 0: always. */
  verifiedTtlMs?: number;
  /** At most this many verified tokens are remembered; the oldest go first. */
  maxVerified?: number;
}

/**
 * Verifies JWTs against the configured issuers. Each issuer's key set is built once (a remote
 * set caches its keys and refetches on an unknown `kid`, with a cooldown). The issuer is chosen
 * by the unverified `iss`, then pinned in the verification together with its algorithm
 * allow-list, so a token can only be verified with the keys of the issuer it names. `none` and
 * HMAC are not in any allow-list (config schema): no shared secrets with token issuers.
 *
 * A token found valid is remembered by its SHA-256 for up to a minute, never past its `exp`:
 * resource servers introspect the same token on every request, and its signature does not
 * change. This is no weaker than the key set itself, which keeps a key the issuer dropped for up
 * to ten minutes (jose's cache). A compromised signing key is revoked by a `kid` rule, checked on
 * every request whatever this cache holds. Only valid results are kept: a forged, expired or
 * unverifiable token is verified again each time.
 */
export class TokenVerifier {
  private readonly issuers: ReadonlyMap<string, { config: IssuerConfig; keys: JWTVerifyGetKey }>;
  private readonly verified = new Map<string, { jwt: VerifiedJwt; until: number }>();
  private readonly now: () => number;
  private readonly verifiedTtlMs: number;
  private readonly maxVerified: number;

  constructor(issuers: readonly IssuerConfig[], options: TokenVerifierOptions = {}) {
    const keySet = options.keySet ?? signingKeySet;
    this.now = options.now ?? Date.now;
    this.verifiedTtlMs = options.verifiedTtlMs ?? 60_000;
    this.maxVerified = options.maxVerified ?? 10_000;
    this.issuers = new Map(
      issuers.map((config) => [config.issuer, { config, keys: keySet(config) }]),
    );
  }

  /** `sha256`: the token's {@link tokenSha256} base64url, when the caller has it already. */
  async verify(token: string, sha256?: string): Promise<Verification> {
    const key = this.verifiedTtlMs > 0 ? (sha256 ?? tokenSha256(token).base64url) : undefined;
    const remembered = key === undefined ? undefined : this.verified.get(key);
    if (remembered !== undefined) {
      if (this.now() < remembered.until) {
        return { status: 'valid', jwt: remembered.jwt };
      }
      this.verified.delete(key!);
    }
    const verification = await this.verifyNow(token);
    if (key !== undefined && verification.status === 'valid') {
      this.remember(key, verification.jwt);
    }
    return verification;
  }

  private remember(key: string, jwt: VerifiedJwt): void {
    const exp = jwt.payload.exp;
    const until = Math.min(
      this.now() + this.verifiedTtlMs,
      typeof exp === 'number' ? (exp + CLOCK_TOLERANCE_SECONDS) * 1000 : Number.POSITIVE_INFINITY,
    );
    if (this.verified.size >= this.maxVerified) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(key, { jwt, until });
  }

  private async verifyNow(token: string): Promise<Verification> {
    const claimed = decodeJwtPayload(token)?.iss;
    const issuer = typeof claimed === 'string' ? this.issuers.get(claimed) : undefined;
    if (issuer === undefined) {
      return { status: 'invalid', reason: 'not a JWT of a configured issuer' };
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, issuer.keys, {
        issuer: issuer.config.issuer,
        algorithms: issuer.config.algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.now()),
      });
      return {
        status: 'valid',
        jwt: {
          payload: { ...payload, iss: issuer.config.issuer },
          header: protectedHeader,
          issuer: issuer.config,
        },
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        return { status: 'expired', reason: error.message };
      }
      // Claims are checked only after the signature: a failed `nbf` check is a genuine token.
      if (
        error instanceof errors.JWTClaimValidationFailed &&
        error.claim === 'nbf' &&
        error.reason === 'check_failed'
      ) {
        const payload = { ...error.payload, iss: issuer.config.issuer };
        return {
          status: 'premature',
          jwt: { payload, header: decodeProtectedHeader(token), issuer: issuer.config },
        };
      }
      if (TOKEN_FAILURES.some((failure) => error instanceof failure)) {
        return { status: 'invalid', reason: (error as Error).message };
      }
      return { status: 'unavailable', reason: `keys of ${issuer.config.issuer}: ${String(error)}` };
    }
  }
}
