/**
 * Who may do what: the one place authorization is decided. Plain TypeScript, tested per role.
 */
export const ROLES = ['hr', 'idp', 'siem', 'operator', 'admin', 'reader', 'introspector'] as const;
export type Role = (typeof ROLES)[number];

/** An authenticated caller. */
export interface Principal {
  /** Stable id (credential id); recorded as the actor in the audit log. */
  id: string;
  name: string;
  role: Role;
  /**
   * The one token issuer this principal acts for: every rule it writes is restricted to it, and
   * it reads and reinstates that issuer's rules only ({@link readScopeOf}). Absent: any issuer.
   */
  issuer?: string;
}

/** Permissions that are not "revoke a rule on claim X". */
export type Permission =
  | 'read' // list rules, the audit log and the deny-list snapshot
  | 'revoke' // write rules through the operator API (POST /v1/revocations, dry runs included)
  | OperatorPower
  | 'reinstate' // lower or remove a rule
  | 'bulk' // more rules in one request than the configured threshold
  | 'ingest:bulk' // a bulk event request with more rules than that threshold (with confirm)
  | 'introspect' // RFC 7662
  | 'global-revoke' // draft-parecki-oauth-global-token-revocation
  | 'ingest:hr'
  | 'ingest:idp'
  | 'ingest:siem';

/** What an operator-API rule may do beyond "revoke what was issued up to now" (see PERMISSIONS). */
export type OperatorPower =
  | 'revoke:future-tokens' // revokedBefore null, expiring within one max token lifetime
  | 'revoke:permanent'; // never expiring (expiresAt null), or future tokens for longer

/**
 * The operator API is for people (`operator`, `admin`); event sources (hr, idp, siem) revoke
 * through their event endpoints, where the event type, not the caller, decides the rule's shape
 * (a termination revokes "up to now", with an expiry). Within the operator API, two powers are
 * apart from "revoke up to now":
 * - `revoke:future-tokens`: `revokedBefore: null` matches every token whatever its `iat`, so
 *   (on a user, client or device) also tokens issued after the decision. The operator may, as
 *   long as the rule expires within one max token lifetime of the request (a suspension; for a
 *   `jti`, `token_hash` or `sid` that is what the default already is).
 * - `revoke:permanent`: a rule that never expires (`expiresAt: null`), or that keeps revoking
 *   future tokens for longer than that: a ban without end, which only an admin may create.
 */
const PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  // Event sources may send mass revocations (a layoff, a compromise response) in bulk requests,
  // each over the threshold explicitly confirmed.
  hr: new Set(['ingest:hr', 'ingest:bulk']),
  idp: new Set(['ingest:idp', 'global-revoke', 'ingest:bulk']),
  siem: new Set(['ingest:siem', 'ingest:bulk']),
  operator: new Set(['read', 'revoke', 'revoke:future-tokens']),
  admin: new Set([
    'read',
    'revoke',
    'revoke:future-tokens',
    'revoke:permanent',
    'reinstate',
    'bulk',
    'ingest:bulk',
    'introspect',
    'global-revoke',
    'ingest:hr',
    'ingest:idp',
    'ingest:siem',
  ]),
  reader: new Set(['read']),
  introspector: new Set(['introspect']),
};

/**
 * Which claims each role may put rules on. `narrow` = every configured claim that is not broad;
 * `all` = every configured claim. Broad claims (issuer, key, tenant: many users at once) are the
 * admin's, except `kid` for the SIEM and the IdP, who report key compromise.
 */
const REVOCABLE: Record<Role, ReadonlySet<string> | 'narrow' | 'all'> = {
  hr: new Set(['sub']),
  // kid: an IdP that declares one of its own signing keys compromised.
  // email: Shared Signals transmitters may name users by email (when configured as a claim).
  idp: new Set(['sid', 'jti', 'token_hash', 'sub', 'client_id', 'kid', 'email']),
  siem: new Set(['jti', 'token_hash', 'sid', 'sub', 'client_id', 'kid']),
  operator: 'narrow',
  admin: 'all',
  reader: new Set(),
  introspector: new Set(),
};

export function hasPermission(principal: Principal, permission: Permission): boolean {
  return PERMISSIONS[principal.role].has(permission);
}

/**
 * The powers an operator-API rule needs beyond `revoke` (see PERMISSIONS):
 * `revoke:future-tokens` for `revokedBefore: null`; `revoke:permanent` for a rule that never
 * expires, or that revokes future tokens beyond `maxLifetimeMs` (the longest lifetime of a token
 * it can match) after `nowMs`, the time of the request.
 */
export function operatorPowersFor(
  rule: { revokedBefore: number | null; expiresAt: number | null },
  options: { nowMs: number; maxLifetimeMs: number },
): OperatorPower[] {
  const needed: OperatorPower[] = [];
  if (rule.revokedBefore === null) {
    needed.push('revoke:future-tokens');
  }
  if (
    rule.expiresAt === null ||
    (rule.revokedBefore === null && rule.expiresAt > options.nowMs + options.maxLifetimeMs)
  ) {
    needed.push('revoke:permanent');
  }
  return needed;
}

/** May this principal put a rule on `claim`? `broad` says whether the claim is configured broad. */
export function mayRevoke(principal: Principal, claim: string, broad: boolean): boolean {
  const allowed = REVOCABLE[principal.role];
  if (allowed === 'all') {
    return true;
  }
  if (allowed === 'narrow') {
    return !broad;
  }
  return allowed.has(claim);
}

/**
 * Which rules a principal may read (list, get, audit log, snapshot) and reinstate: a principal
 * acting for one issuer those of its issuer, any other principal every rule. Storage applies it
 * as SQL (`Conditions.within`); {@link mayRead} is the same decision for a rule in hand.
 */
export interface ReadScope {
  /** Null: every issuer. */
  issuer: string | null;
}

export function readScopeOf(principal: Principal): ReadScope {
  return { issuer: principal.issuer ?? null };
}

/**
 * May a principal with this scope see the rule? An issuer-independent rule (`iss` null) is no
 * issuer's own, so a bound principal neither lists nor reinstates it; only the snapshot hands it
 * out as well (every enforcement point must enforce it).
 */
export function mayRead(scope: ReadScope, rule: { iss: string | null }): boolean {
  return scope.issuer === null || rule.iss === scope.issuer;
}
