import { unstorableText } from '@rescind/contracts';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { signingKeySet } from '../auth/signing-keys';
import type { TransmitterConfig } from '../config/config';

/** RFC 8935 §2.3 error codes. */
export type SetErrorCode =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'authentication_failed'
  | 'access_denied';

/** A SET the receiver refuses; answered as RFC 8935 §2.3 `{"err", "description"}` with 400. */
export class SetRejectedError extends Error {
  constructor(
    readonly err: SetErrorCode,
    readonly description: string,
  ) {
    super(`${err}: ${description}`);
  }
}

/** A verified Security Event Token (RFC 8417). */
export interface VerifiedSet {
  transmitter: TransmitterConfig;
  payload: JWTPayload & { jti: string; events: Record<string, Record<string, unknown>> };
}

/**
 * Verifies SETs pushed to us (RFC 8935) or polled (RFC 8936) against the keys of configured
 * transmitters only: the key set comes from configuration, never from a URL in the token.
 * Algorithms are pinned per transmitter (no `none`, no HMAC), `typ` must be `secevent+jwt`, and
 * `exp` must be absent (RFC 8417 §2.2: a SET describes something that happened; it does not
 * expire).
 */
export class SetVerifier {
  private readonly transmitters = new Map<
    string,
    { config: TransmitterConfig; keys: JWTVerifyGetKey }
  >();

  constructor(transmitters: readonly TransmitterConfig[]) {
    for (const config of transmitters) {
      const keys = signingKeySet(config);
      this.transmitters.set(config.issuer, { config, keys });
    }
  }

  /**
   * @param only when set, the SET must come from this transmitter: a poll endpoint speaks for
   * one transmitter, and its acknowledgements name `jti`s that are unique only per issuer.
   */
  async verify(token: string, only?: string): Promise<VerifiedSet> {
    let issuer: unknown;
    try {
      const header = decodeProtectedHeader(token);
      if (typeof header.typ !== 'string' || !/^(application\/)?secevent\+jwt$/i.test(header.typ)) {
        throw new SetRejectedError(
          'invalid_request',
          'the JWS "typ" header must be "secevent+jwt"',
        );
      }
      issuer = decodeJwt(token).iss;
    } catch (error) {
      if (error instanceof SetRejectedError) {
        throw error;
      }
      throw new SetRejectedError(
        'invalid_request',
        'the body is not a compact JWS Security Event Token',
      );
    }
    if (only !== undefined && issuer !== only) {
      throw new SetRejectedError(
        'invalid_issuer',
        `the SET's issuer ${JSON.stringify(issuer)} is not the polled transmitter`,
      );
    }
    const transmitter = typeof issuer === 'string' ? this.transmitters.get(issuer) : undefined;
    if (!transmitter) {
      throw new SetRejectedError(
        'invalid_issuer',
        `no transmitter is configured for issuer ${JSON.stringify(issuer)}`,
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, transmitter.keys, {
        issuer: transmitter.config.issuer,
        audience: transmitter.config.audience,
        algorithms: transmitter.config.algorithms,
        typ: 'secevent+jwt',
      }));
    } catch (error) {
      throw toSetError(error);
    }
    if (payload.exp !== undefined) {
      throw new SetRejectedError('invalid_request', 'a SET must not carry "exp" (RFC 8417 §2.2)');
    }
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200) {
      throw new SetRejectedError(
        'invalid_request',
        'the SET needs a "jti" (at most 200 characters)',
      );
    }
    // The jti is the SET's idempotency key, stored as text: refuse what PostgreSQL cannot store.
    const unstorable = unstorableText(payload.jti);
    if (unstorable !== undefined) {
      throw new SetRejectedError('invalid_request', `the SET's "jti" ${unstorable}`);
    }
    const events = payload.events;
    if (
      events === null ||
      typeof events !== 'object' ||
      Array.isArray(events) ||
      Object.keys(events).length === 0
    ) {
      throw new SetRejectedError('invalid_request', 'the SET needs a non-empty "events" object');
    }
    return { transmitter: transmitter.config, payload: payload as VerifiedSet['payload'] };
  }
}

function toSetError(error: unknown): SetRejectedError {
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return new SetRejectedError('invalid_audience', 'the SET is not addressed to this receiver');
    }
    if (error.claim === 'iss') {
      return new SetRejectedError('invalid_issuer', 'unexpected issuer');
    }
    return new SetRejectedError(
      'invalid_request',
      `claim "${error.claim}" is invalid: ${error.reason}`,
    );
  }
  if (error instanceof errors.JWTExpired) {
    return new SetRejectedError('invalid_request', 'a SET must not carry "exp" (RFC 8417 §2.2)');
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new SetRejectedError(
      'invalid_key',
      'the signature does not verify with any key of the transmitter',
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new SetRejectedError(
      'invalid_request',
      'the signing algorithm is not allowed for this transmitter',
    );
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new SetRejectedError('invalid_key', "the transmitter's keys could not be obtained");
  }
  return new SetRejectedError('invalid_request', 'malformed Security Event Token');
}
