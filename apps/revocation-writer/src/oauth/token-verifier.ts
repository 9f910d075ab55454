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

/**
 * Verifies JWTs against the configured issuers. Each issuer's key set is built once (a remote
 * set caches its keys and refetches on an unknown `kid`, with a cooldown). The issuer is chosen
 * by the unverified `iss`, then pinned in the verification together with its algorithm
 * allow-list, so a token can only be verified with the keys of the issuer it names. `none` and
 * HMAC are not in any allow-list (config schema): no shared secrets with token issuers.
 */
export class TokenVerifier {
  private readonly issuers: ReadonlyMap<string, { config: IssuerConfig; keys: JWTVerifyGetKey }>;

  constructor(issuers: readonly IssuerConfig[]) {
    this.issuers = new Map(
      issuers.map((config) => [
        config.issuer,
        {
          config,
          keys: signingKeySet(config),
        },
      ]),
    );
  }

  async verify(token: string): Promise<Verification> {
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
