import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';

/**
 * The key set of a configured token issuer or SET transmitter: its inline JWK Set, or its JWKS
 * URL (fetched by jose with a timeout, cached, refetched at most every 30 s on an unknown kid).
 * Keys only ever come from configuration, never from a URL inside a token.
 */
export function signingKeySet(source: {
  jwksUri?: string;
  jwks?: { keys: Array<Record<string, unknown>> };
}): JWTVerifyGetKey {
  return source.jwks
    ? createLocalJWKSet(source.jwks as unknown as JSONWebKeySet)
    : createRemoteJWKSet(new URL(source.jwksUri!), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
      });
}
