import { tokenClient } from '@rescind/rules';
import type { JWTPayload } from 'jose';
import type { OAuthClient } from '../auth/credentials.repository';

/**
 * Whether a verified token belongs to the client that asks to revoke it (RFC 7009 §2.1):
 * - `owned`: issued by the client's issuer, to the client's id;
 * - `other-issuer`: another trusted issuer signed it. Client ids are unique only per issuer,
 *   so a token of issuer B naming this client's id was issued to another client;
 * - `other-client`: the client's issuer issued it to another client, or to none;
 * - `unbound`: the client names no issuer and several are trusted, so whose tokens it may
 *   revoke is unknown.
 */
export type TokenOwnership = 'owned' | 'other-issuer' | 'other-client' | 'unbound';

/**
 * The issuer whose tokens `client` may revoke. A client registered before clients named their
 * issuer is taken to belong to the only trusted issuer, if there is exactly one: no other
 * issuer could have signed its tokens. With several, it has none until an operator binds it.
 */
export function clientIssuer(
  client: Pick<OAuthClient, 'issuer'>,
  trustedIssuers: readonly string[],
): string | undefined {
  if (client.issuer !== null) {
    return client.issuer;
  }
  return trustedIssuers.length === 1 ? trustedIssuers[0] : undefined;
}

/** Both the issuer and the client id must match: either alone names another issuer's client. */
export function tokenOwnership(
  payload: JWTPayload & { iss: string },
  client: Pick<OAuthClient, 'clientId' | 'issuer'>,
  trustedIssuers: readonly string[],
): TokenOwnership {
  const issuer = clientIssuer(client, trustedIssuers);
  if (issuer === undefined) {
    return 'unbound';
  }
  if (payload.iss !== issuer) {
    return 'other-issuer';
  }
  return tokenClient(payload) === client.clientId ? 'owned' : 'other-client';
}
