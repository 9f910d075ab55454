import type { RuleV1 } from '@rescind/contracts';

/**
 * Claims of a token as an enforcement point sees them. `iat` is a JWT NumericDate
 * (seconds). `kid` comes from the JWT header; pass it in alongside the payload.
 * Custom claims configured as rule claims (e.g. `device_id`) are read by name.
 */
export interface TokenClaims {
  jti?: string;
  sub?: string;
  client_id?: string;
  /** OIDC authorized party; stands in for `client_id` when that is absent. */
  azp?: string;
  sid?: string;
  iss?: string;
  kid?: string;
  /** SHA-256 (base64url) of an opaque token, for `token_hash` rules. */
  token_hash?: string;
  iat?: number;
  /** When the user authenticated (NumericDate), for rules with `cutoff: 'auth_time'`. */
  auth_time?: number;
  [claim: string]: unknown;
}

/** One version of a rule, as kept by a deny-list. */
export interface RuleVersion extends RuleV1 {
  key: string;
  seq: number;
  revocationId: string;
  /** True for a removal marker: it only remembers `seq` so older versions stay ignored. */
  removed: boolean;
}

/** What `check` answers: revoked with the rule that matched, or not revoked. */
export type Decision = { revoked: false } | { revoked: true; rule: RuleVersion };

/**
 * Does `rule` revoke a token issued at `iatSeconds` (and, for a rule with
 * `cutoff: 'auth_time'`, whose user authenticated at `authTimeSeconds`)?
 *
 * Units and edges, decided once here for writer and consumers alike:
 * - `revokedBefore` is in milliseconds, `iat` and `auth_time` in seconds; `seconds * 1000` is
 *   compared.
 * - Strictly before: a token with `iat * 1000 === revokedBefore` is NOT revoked. Because `iat`
 *   truncates to the second, a token issued in the same second as the revocation but after it
 *   may still be revoked: the error is always on the safe side.
 * - `revokedBefore === null` revokes every matching token.
 * - A token without a numeric `iat` counts as issued at the beginning of time (revoked).
 * - `cutoff: 'auth_time'` compares the authentication time: `auth_time` when it is a number
 *   earlier than `iat`, otherwise `iat` (authentication never comes after issuance, so such a
 *   rule revokes at least what the same rule on `iat` revokes). A token minted by refresh from a
 *   login before the cut-off keeps that login's `auth_time` and is revoked; a new login is not.
 *
 * @example
 * revokes({ claim: 'sub', value: 'alice', iss: null, revokedBefore: 2_000_000, cutoff: 'auth_time', expiresAt: null }, 3_000, 1_000); // true
 */
export function revokes(rule: RuleV1, iatSeconds: unknown, authTimeSeconds?: unknown): boolean {
  if (rule.revokedBefore === null) {
    return true;
  }
  if (typeof iatSeconds !== 'number' || !Number.isFinite(iatSeconds)) {
    return true;
  }
  const seconds =
    rule.cutoff === 'auth_time' &&
    typeof authTimeSeconds === 'number' &&
    authTimeSeconds < iatSeconds // false for NaN; -Infinity is as old as it gets
      ? authTimeSeconds
      : iatSeconds;
  return seconds * 1000 < rule.revokedBefore;
}

/**
 * Has a rule with this `expiresAt` stopped mattering at `nowMs`? Expired at or after its
 * `expiresAt`: a rule whose `expiresAt` equals now is expired, since no token it matches can
 * still be valid at that instant. `null` never expires. The writer's SQL spells the same
 * predicate in `apps/revocation-writer/src/database/rule-expiry.ts`.
 *
 * @example
 * isExpired(1_000, 1_000); // true
 * isExpired(null, Date.now()); // false
 */
export function isExpired(expiresAt: number | null, nowMs: number): boolean {
  return expiresAt !== null && expiresAt <= nowMs;
}

/** Claims whose value names one token or one session: nothing new can ever carry it. */
const SINGLE_TOKEN_CLAIMS: ReadonlySet<string> = new Set(['jti', 'token_hash', 'sid']);

/**
 * When a rule stops mattering: once no token it can match can still be valid.
 * - With `revokedBefore`: matching tokens were issued before it, so they are all expired
 *   `maxLifetimeMs` later.
 * - Without (every matching token): a `jti`/`token_hash`/`sid` rule names tokens that already
 *   exist, so it expires with the token (`tokenExpiresAtMs` when known) or `maxLifetimeMs`
 *   from now; a rule on a user, client, key or issuer would also catch tokens minted later,
 *   so it never expires (`null`) and lasts until reinstated.
 */
export function ruleExpiresAt(rule: {
  claim: string;
  revokedBefore: number | null;
  maxLifetimeMs: number;
  nowMs: number;
  tokenExpiresAtMs?: number;
}): number | null {
  if (rule.revokedBefore !== null) {
    return rule.revokedBefore + rule.maxLifetimeMs;
  }
  if (SINGLE_TOKEN_CLAIMS.has(rule.claim)) {
    return rule.tokenExpiresAtMs ?? rule.nowMs + rule.maxLifetimeMs;
  }
  return null;
}
