import {
  hasPermission,
  mayRevoke,
  type Permission,
  type Principal,
  type Role,
  ROLES,
} from './permissions';

const as = (role: Role): Principal => ({ id: `c-${role}`, name: role, role });

/** The authorization matrix, written out: every role against every scope and permission. */
const REVOKE_MATRIX: Record<Role, string[]> = {
  hr: ['sub'],
  idp: ['sub', 'jti', 'token_hash', 'sid', 'client_id', 'kid', 'email'],
  siem: ['sub', 'jti', 'token_hash', 'sid', 'client_id', 'kid'],
  operator: ['sub', 'jti', 'token_hash', 'sid', 'client_id', 'device_id', 'email'],
  admin: [
    'sub',
    'jti',
    'token_hash',
    'sid',
    'client_id',
    'kid',
    'iss',
    'device_id',
    'tenant',
    'email',
  ],
  reader: [],
  introspector: [],
};
const BROAD = new Set(['iss', 'kid', 'tenant']);
const CLAIMS = [
  'sub',
  'jti',
  'token_hash',
  'sid',
  'client_id',
  'kid',
  'iss',
  'device_id',
  'tenant',
  'email',
];

const PERMISSION_MATRIX: Record<Role, Permission[]> = {
  hr: ['ingest:hr'],
  idp: ['ingest:idp', 'global-revoke'],
  siem: ['ingest:siem'],
  operator: ['read'],
  admin: [
    'read',
    'reinstate',
    'bulk',
    'introspect',
    'global-revoke',
    'ingest:hr',
    'ingest:idp',
    'ingest:siem',
  ],
  reader: ['read'],
  introspector: ['introspect'],
};
const PERMISSIONS: Permission[] = [
  'read',
  'reinstate',
  'bulk',
  'introspect',
  'global-revoke',
  'ingest:hr',
  'ingest:idp',
  'ingest:siem',
];

describe('authorization matrix', () => {
  describe.each(ROLES)('role %s', (role) => {
    it.each(CLAIMS)(`revoking on %s`, (claim) => {
      expect(mayRevoke(as(role), claim, BROAD.has(claim))).toBe(
        REVOKE_MATRIX[role].includes(claim),
      );
    });

    it.each(PERMISSIONS)('permission %s', (permission) => {
      expect(hasPermission(as(role), permission)).toBe(
        PERMISSION_MATRIX[role].includes(permission),
      );
    });
  });
});
