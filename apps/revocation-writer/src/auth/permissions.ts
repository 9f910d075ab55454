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
   * The one token issuer this principal acts for: every rule it writes is restricted to it.
   * Absent: any issuer.
   */
  issuer?: string;
}

/** Permissions that are not "revoke a rule on claim X". */
export type Permission =
  | 'read' // list rules and the audit log
  | 'reinstate' // lower or remove a rule
  | 'bulk' // more rules in one request than the configured threshold
  | 'introspect' // RFC 7662
  | 'global-revoke' // draft-parecki-oauth-global-token-revocation
  | 'ingest:hr'
  | 'ingest:idp'
  | 'ingest:siem';

const PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  hr: new Set(['ingest:hr']),
  idp: new Set(['ingest:idp', 'global-revoke']),
  siem: new Set(['ingest:siem']),
  operator: new Set(['read']),
  admin: new Set([
    'read',
    'reinstate',
    'bulk',
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
