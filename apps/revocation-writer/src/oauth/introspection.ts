import { ruleKey } from '@rescind/contracts';
import type { TokenClaims } from '@rescind/rules';
import { tokenClient } from './revocation-rules';
import type { VerifiedJwt } from './token-verifier';

/** RFC 7662 §2.2: everything about an inactive token is withheld, including why. */
export const INACTIVE = Object.freeze({ active: false as const });

/** RFC 7662 §2.2 top-level members, for an active token. */
export interface ActiveIntrospection {
  active: true;
  scope?: string;
  client_id?: string;
  username?: string;
  token_type: string;
  exp?: number;
  iat?: number;
  nbf?: number;
  sub?: string;
  aud?: string | string[];
  iss: string;
  jti?: string;
}

/**
 * The claims a deny-list checks, as an enforcement point passes them: the payload with the
 * header's `kid`, plus the token's hash for `token_hash` rules. Ours override look-alike
 * payload members: the issuer controls the payload, not which key signed or what the hash is.
 */
export function claimsToCheck(jwt: VerifiedJwt, tokenHash: string): TokenClaims {
  return { ...jwt.payload, kid: jwt.header.kid, token_hash: tokenHash };
}

/**
 * Keys of every rule that could match these claims: for each claim a rule may be on, the
 * issuer-independent rule and the one scoped to the token's issuer. The claim values are read
 * exactly as `DenyList.check` reads them (`client_id` falls back to `azp`; strings only).
 */
export function candidateRuleKeys(claims: TokenClaims, ruleClaims: Iterable<string>): string[] {
  const keys: string[] = [];
  for (const claim of ruleClaims) {
    const value = claim === 'client_id' ? (claims.client_id ?? claims.azp) : claims[claim];
    if (typeof value !== 'string') {
      continue;
    }
    keys.push(ruleKey({ claim, value, iss: null }));
    if (typeof claims.iss === 'string') {
      keys.push(ruleKey({ claim, value, iss: claims.iss }));
    }
  }
  return keys;
}

/**
 * Rules expire `maxTokenLifetimeSeconds` after the tokens they revoke were issued (DESIGN.md).
 * A token without `exp` and `iat`, or living longer than that, could outlive the rule that
 * revokes it, so introspection never calls it active.
 */
export function withinIssuerLifetime(jwt: VerifiedJwt): boolean {
  const { exp, iat } = jwt.payload;
  return (
    typeof exp === 'number' &&
    typeof iat === 'number' &&
    exp - iat <= jwt.issuer.maxTokenLifetimeSeconds
  );
}

const string = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
const number = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : undefined;

/** The RFC 7662 §2.2 answer for an active token: its standard claims, where it has them. */
export function introspectionResponse(jwt: VerifiedJwt): ActiveIntrospection {
  const p = jwt.payload;
  // `scp` (an array) is how several issuers spell OAuth's space-separated `scope`.
  const scp =
    Array.isArray(p.scp) && p.scp.every((s) => typeof s === 'string') ? p.scp.join(' ') : undefined;
  const aud = typeof p.aud === 'string' || Array.isArray(p.aud) ? p.aud : undefined;
  const cnf = p.cnf as { jkt?: unknown } | undefined;
  return {
    active: true,
    scope: string(p.scope) ?? scp,
    client_id: tokenClient(p),
    username: string(p.username) ?? string(p.preferred_username),
    // RFC 9449 §6.2: a DPoP-bound token (`cnf.jkt`) is a DPoP token, else Bearer.
    token_type: typeof cnf?.jkt === 'string' ? 'DPoP' : 'Bearer',
    exp: number(p.exp),
    iat: number(p.iat),
    nbf: number(p.nbf),
    sub: string(p.sub),
    aud,
    iss: p.iss,
    jti: string(p.jti),
  };
}
