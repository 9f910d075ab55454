import { createHash } from 'node:crypto';

/**
 * The value of a `token_hash` rule: SHA-256 of the token's exact bytes, base64url without
 * padding. Opaque tokens are only ever matched, stored and sent as this hash.
 *
 * @example
 * consumer.check({ token_hash: tokenHash(opaqueAccessToken) });
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
