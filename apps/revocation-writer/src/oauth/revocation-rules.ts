import { publishingProblems } from '@rescind/contracts';
import type { JWTPayload } from 'jose';
import type { RuleSpecUnlessInForce } from '../write-path/revocation-command';
import type { RuleSpec } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';

/** What one RFC 7009 revocation takes down. */
export type RevocationScope = 'session' | 'token' | 'token hash' | 'subject';

/**
 * Can a rule on `claim` carry this value? Only if enforcement points could apply it (the
 * invalidation contract's rule and key limits, text PostgreSQL stores as sent); otherwise the
 * revocation falls back to a narrower claim that can, down to the token's hash.
 */
const usable = (claim: string, value: unknown, iss: string): value is string =>
  typeof value === 'string' &&
  publishingProblems({ claim, value, iss, revokedBefore: null, expiresAt: null }).length === 0;

/**
 * The rule that revokes a verified JWT, scoped to its issuer, matching every token whatever its
 * `iat` (`revokedBefore: null`):
 * - with a `sid`, the whole session: access and refresh token die together. Other tokens of the
 *   session (the refresh token) can outlive the presented one, so the rule lasts the issuer's
 *   longest token lifetime, or this token's lifetime if that is longer;
 * - else its `jti`, until the token expires;
 * - else the token's hash: the token names nothing narrower that a rule could match, and a
 *   `sub` rule would log the user out everywhere. Introspection and enforcement points that
 *   pass `token_hash` honour it.
 */
export function revocationRuleForJwt(
  payload: JWTPayload & { iss: string },
  tokenHash: string,
  policy: RulePolicy,
  nowMs: number,
): { scope: RevocationScope; rule: RuleSpec } {
  const tokenExpiresAtMs = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  const { iss } = payload;
  if (usable('sid', payload.sid, iss)) {
    const rule = { claim: 'sid', value: payload.sid, iss, revokedBefore: null };
    const sessionEnd = policy.expiresAt(rule, nowMs);
    const expiresAt =
      sessionEnd === null || tokenExpiresAtMs === undefined
        ? sessionEnd
        : Math.max(sessionEnd, tokenExpiresAtMs);
    return { scope: 'session', rule: { ...rule, expiresAt } };
  }
  const [scope, claim, value]: [RevocationScope, string, string] = usable('jti', payload.jti, iss)
    ? ['token', 'jti', payload.jti]
    : ['token hash', 'token_hash', tokenHash];
  const rule = { claim, value, iss, revokedBefore: null };
  return { scope, rule: { ...rule, expiresAt: policy.expiresAt(rule, nowMs, tokenExpiresAtMs) } };
}

/**
 * The rule that revokes an opaque token: its SHA-256, never the token. Its issuer and expiry
 * are unknown, so it matches any issuer and lasts the longest token lifetime of all.
 */
export function revocationRuleForOpaqueToken(
  tokenHash: string,
  policy: RulePolicy,
  nowMs: number,
): RuleSpec {
  const rule = { claim: 'token_hash', value: tokenHash, iss: null, revokedBefore: null };
  return { ...rule, expiresAt: policy.expiresAt(rule, nowMs) };
}

/**
 * What the stored rule must already revoke for revoking this JWT again to change nothing
 * (RFC 7009 is idempotent in effect): the rule this revocation would have written when the
 * token was issued. A rule written at or after that instant covers the token and every token
 * of its session issued no later, until they expire; a token issued since the rule was written
 * (the IdP kept the session going) asks for more and extends it. Without `iat`, the token may
 * be as new as now: nothing less than the rule itself.
 */
export function minimumForJwt(
  payload: JWTPayload & { iss: string },
  tokenHash: string,
  policy: RulePolicy,
  nowMs: number,
): RuleSpecUnlessInForce['minimum'] {
  const issuedAtMs = typeof payload.iat === 'number' ? Math.min(payload.iat * 1000, nowMs) : nowMs;
  const { rule } = revocationRuleForJwt(payload, tokenHash, policy, issuedAtMs);
  return { revokedBefore: rule.revokedBefore, expiresAt: rule.expiresAt };
}

/**
 * The same for an opaque token: when it was issued is unknown, but it existed when any rule on
 * its hash was written (whoever wrote it held the token), so a rule on its hash that is still
 * in force outlives it.
 */
export function minimumForOpaqueToken(nowMs: number): RuleSpecUnlessInForce['minimum'] {
  return { revokedBefore: null, expiresAt: nowMs };
}

/**
 * The rule that revokes what a refresh token can mint, from the IdP's introspection of it: its
 * session (`sid`, every token, as long as a session lives), else its subject grant-wide (the
 * grant's access tokens cannot be told from the subject's others), or nothing when the IdP named
 * neither (the refresh token dies at the IdP all the same). `minimum`: what makes a repetition a
 * no-op while the rule is in force.
 */
export function refreshTokenRule(
  introspection: { sid?: string; sub?: string },
  iss: string,
  policy: RulePolicy,
  nowMs: number,
):
  | { scope: RevocationScope; rule: RuleSpec; minimum: RuleSpecUnlessInForce['minimum'] }
  | undefined {
  if (usable('sid', introspection.sid, iss)) {
    const rule = { claim: 'sid', value: introspection.sid, iss, revokedBefore: null };
    const spec = { ...rule, expiresAt: policy.expiresAt(rule, nowMs) };
    return { scope: 'session', rule: spec, minimum: { revokedBefore: null, expiresAt: nowMs } };
  }
  if (usable('sub', introspection.sub, iss)) {
    const spec = policy.grantWide({ claim: 'sub', value: introspection.sub, iss }, nowMs);
    return {
      scope: 'subject',
      rule: spec,
      minimum: {
        revokedBefore: spec.revokedBefore,
        cutoff: spec.cutoff,
        expiresAt: spec.expiresAt,
      },
    };
  }
  return undefined;
}
