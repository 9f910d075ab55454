import {
  hasPermission,
  mayRead,
  mayRevoke,
  operatorPowersFor,
  type Permission,
  type Principal,
  readScopeOf,
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
  hr: ['ingest:hr', 'ingest:bulk'],
  idp: ['ingest:idp', 'global-revoke', 'ingest:bulk'],
  siem: ['ingest:siem', 'ingest:bulk'],
  // The operator API is for people: event sources use their event endpoints.
  operator: ['read', 'revoke', 'revoke:future-tokens'],
  admin: [
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
  ],
  reader: ['read'],
  introspector: ['introspect'],
};
/** Every permission there is: the admin holds them all. */
const PERMISSIONS: Permission[] = PERMISSION_MATRIX.admin;

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

describe(operatorPowersFor.name, () => {
  const DAY = 86_400_000;
  const NOW = Date.parse('2026-11-22T12:00:00Z');
  const powers = (revokedBefore: number | null, expiresAt: number | null) =>
    operatorPowersFor({ revokedBefore, expiresAt }, { nowMs: NOW, maxLifetimeMs: DAY });

  it('needs nothing beyond `revoke` for tokens issued up to now, expiring', () => {
    expect(powers(NOW, NOW + DAY)).toEqual([]);
    expect(powers(NOW - DAY, NOW)).toEqual([]);
  });

  it('needs revoke:future-tokens for revokedBefore null expiring within one token lifetime', () => {
    expect(powers(null, NOW + DAY)).toEqual(['revoke:future-tokens']);
  });

  it('needs revoke:permanent for a rule without expiry (a ban without end)', () => {
    expect(powers(null, null)).toEqual(['revoke:future-tokens', 'revoke:permanent']);
    expect(powers(NOW, null)).toEqual(['revoke:permanent']);
  });

  it('needs revoke:permanent for future tokens revoked beyond one token lifetime', () => {
    expect(powers(null, NOW + DAY + 1)).toEqual(['revoke:future-tokens', 'revoke:permanent']);
  });
});

describe('read scope', () => {
  const A = 'https://idp-a.example';
  const unbound = as('reader');
  const boundToA: Principal = { ...unbound, issuer: A };

  it('lets a principal acting for any issuer read every rule', () => {
    expect(readScopeOf(unbound)).toEqual({ issuer: null });
    for (const iss of [A, 'https://idp-b.example', null]) {
      expect(mayRead(readScopeOf(unbound), { iss })).toBe(true);
    }
  });

  it("lets a principal acting for one issuer read that issuer's rules only", () => {
    expect(readScopeOf(boundToA)).toEqual({ issuer: A });
    expect(mayRead(readScopeOf(boundToA), { iss: A })).toBe(true);
    expect(mayRead(readScopeOf(boundToA), { iss: 'https://idp-b.example' })).toBe(false);
    expect(mayRead(readScopeOf(boundToA), { iss: null })).toBe(false);
  });
});
