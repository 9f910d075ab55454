import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { TokenClaims } from '@rescind/revocation-consumer';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyResult,
} from 'jose';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config';
import { problem } from '../http/problem';

/** What the revocation guard reads: the verified payload plus the header's `kid`. */
export type AuthenticatedRequest = FastifyRequest & { user?: TokenClaims };

/**
 * Verifies `Authorization: Bearer <JWT>` against the issuer's JWKS (signature, algorithm,
 * `iss`, `aud`, `exp`, `nbf`) and puts the claims on `request.user` for the revocation guard.
 * A token that fails here never reaches the deny-list. RFC 6750 §3.1: no credentials → a bare
 * challenge; a bad token → `invalid_token`. Descriptions are fixed strings: nothing from the
 * token is echoed back.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly keys: JWTVerifyGetKey;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    const { keys } = config.jwt;
    this.keys = 'jwksUri' in keys ? createRemoteJWKSet(keys.jwksUri) : createLocalJWKSet(keys.jwks);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const reply = http.getResponse<FastifyReply>();
    const token = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i.exec(
      request.headers.authorization ?? '',
    )?.[1];
    if (token === undefined) {
      throw problem(reply, 401, 'unauthenticated', 'a bearer JWT is required', {
        'www-authenticate': 'Bearer',
      });
    }
    let verified: JWTVerifyResult;
    try {
      verified = await jwtVerify(token, this.keys, {
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        algorithms: this.config.jwt.algorithms,
      });
    } catch (error) {
      throw this.rejection(reply, error);
    }
    // kid from the protected header: the deny-list also matches signing-key rules.
    request.user = { ...verified.payload, kid: verified.protectedHeader.kid };
    return true;
  }

  private rejection(reply: FastifyReply, error: unknown) {
    if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
      // The issuer's keys could not be fetched: not the caller's fault.
      return problem(reply, 503, 'signing_keys_unavailable', 'the signing keys are unavailable', {
        'retry-after': '5',
      });
    }
    const description =
      error instanceof errors.JWTExpired
        ? 'token expired'
        : error instanceof errors.JWSSignatureVerificationFailed
          ? 'signature verification failed'
          : error instanceof errors.JWKSNoMatchingKey
            ? 'no matching signing key'
            : error instanceof errors.JOSEAlgNotAllowed
              ? 'algorithm not allowed'
              : error instanceof errors.JWTClaimValidationFailed
                ? `${error.claim} claim check failed`
                : 'malformed token';
    return problem(reply, 401, 'invalid_token', description, {
      'www-authenticate': `Bearer error="invalid_token", error_description="${description}"`,
    });
  }
}
