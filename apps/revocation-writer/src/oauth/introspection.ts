import { ruleKey } from '@rescind/contracts';
import { type TokenClaims, tokenClaim, tokenClient } from '@rescind/rules';
import type { VerifiedJwt } from './token-verifier';

/** RFC 7662 §2.2: everything about an inactive token is withheld, including why. */
export const INACTIVE = Object.freeze({ active: false as const });

/**
 * The answer for an active token (RFC 7662 §2.2): the members that RFC defines, and those RFC 9068
 * §2.2 and OpenID Connect name for access tokens, each with the type they give it; then every
 * other claim of the token as the token has it (`cnf`, `azp`, `scp`, custom claims).
 */
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
  /** OpenID Connect session id (front- and back-channel logout, RFC 9068 §2.2.3.1 sessions). */
  sid?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  [claim: string]: unknown;
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
 * exactly as `DenyList.check` reads them (`tokenClaim`: `client_id` falls back to `azp`;
 * strings only).
 */
export function candidateRuleKeys(claims: TokenClaims, ruleClaims: Iterable<string>): string[] {
  const keys: string[] = [];
  for (const claim of ruleClaims) {
    const value = tokenClaim(claims, claim);
    if (value === undefined) {
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
 * Rules expire `maxTokenLifetimeSeconds` after the tokens they revoke were issued (docs/design.md).
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
const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;

/**
 * Members whose meaning and type the RFCs fix, so read by `standardMembers` and never copied as
 * the payload has them: a payload's own `active` or `token_type` never reaches the caller, and a
 * standard claim of the wrong type is left out rather than handed to a client that trusts its
 * type.
 */
const STANDARD_MEMBERS = new Set([
  'active',
  'scope',
  'client_id',
  'username',
  'token_type',
  'exp',
  'iat',
  'nbf',
  'sub',
  'aud',
  'iss',
  'jti',
  'sid',
  'auth_time',
  'acr',
  'amr',
]);

function standardMembers(jwt: VerifiedJwt): ActiveIntrospection {
  const p = jwt.payload;
  const cnf = p.cnf as { jkt?: unknown } | undefined;
  return {
    active: true,
    // `scp` (an array) is how several issuers spell OAuth's space-separated `scope`.
    scope: string(p.scope) ?? strings(p.scp)?.join(' '),
    client_id: tokenClient(p),
    username: string(p.username) ?? string(p.preferred_username),
    // RFC 9449 §6.2: a DPoP-bound token (`cnf.jkt`) is a DPoP token, else Bearer.
    token_type: typeof cnf?.jkt === 'string' ? 'DPoP' : 'Bearer',
    exp: number(p.exp),
    iat: number(p.iat),
    nbf: number(p.nbf),
    sub: string(p.sub),
    aud: string(p.aud) ?? strings(p.aud),
    // The issuer the signature was verified against (the same string, pinned by the verifier).
    iss: jwt.issuer.issuer,
    jti: string(p.jti),
    sid: string(p.sid),
    auth_time: number(p.auth_time),
    acr: string(p.acr),
    amr: strings(p.amr),
  };
}

/**
 * The RFC 7662 §2.2 answer for an active token: its standard members, then all its other claims.
 *
 * What is returned, and why no claim is filtered for secrecy: only a verified JWS of a configured
 * issuer is ever active (opaque tokens and anything unverifiable answer `{"active": false}` and
 * nothing else, so nothing of them, nor their hash, leaves). A JWS payload is plain base64url that
 * anyone holding the token reads, and the caller must send the token: echoing its claims (`cnf`,
 * `azp`, an `email`) tells it nothing it could not decode itself. What is left out is what is not
 * the token's: nothing of ours (not the token, not its hash, not the protected header's `kid`),
 * and no payload member in place of one this endpoint computes (`active`, `token_type`, `iss`,
 * `scope` from `scp`, `client_id` from `azp`, `username` from `preferred_username`; those raw
 * claims still come back under their own names). Members absent from the token are absent here.
 */
export function introspectionResponse(jwt: VerifiedJwt): ActiveIntrospection {
  // fromEntries defines own members: a claim named `__proto__` stays a claim, not a prototype.
  return Object.fromEntries(
    [
      ...Object.entries(standardMembers(jwt)),
      ...Object.entries(jwt.payload).filter(([claim]) => !STANDARD_MEMBERS.has(claim)),
    ].filter(([, value]) => value !== undefined),
  ) as ActiveIntrospection;
}
