import { ForbiddenError } from '../errors';
import type { RuleSpec } from '../write-path/stored-rule';
import { RulePolicy } from '../write-path/rule-policy';
import { authorizeOperatorRules, scopeToPrincipal } from './authorize-rules';
import { type Principal, type Role, ROLES } from './permissions';

const A = 'https://idp-a.example';
const B = 'https://idp-b.example';
const rule = (iss: string | null): RuleSpec => ({
  claim: 'sub',
  value: 'alice',
  iss,
  revokedBefore: 1_700_000_000_000,
  expiresAt: null,
});
const unbound: Principal = { id: 'c1', name: 'workday', role: 'hr' };
const boundToA: Principal = { ...unbound, issuer: A };

describe(scopeToPrincipal.name, () => {
  it('leaves the rules of a principal acting for any issuer as they are', () => {
    expect(scopeToPrincipal(unbound, [rule(null), rule(B)])).toEqual([rule(null), rule(B)]);
  });

  it("restricts an issuer-independent rule to the principal's issuer, keeping its other fields", () => {
    const withExtra = { ...rule(null), minimum: { revokedBefore: null, expiresAt: 5 } };
    expect(scopeToPrincipal(boundToA, [withExtra, rule(A)])).toEqual([
      { ...withExtra, iss: A },
      rule(A),
    ]);
  });

  it('refuses a rule of another issuer, whatever else the request holds', () => {
    expect(() => scopeToPrincipal(boundToA, [rule(A), rule(B)])).toThrow(ForbiddenError);
    expect(() => scopeToPrincipal(boundToA, [rule(B)])).toThrow(
      `this credential acts for issuer "${A}" and may not revoke tokens of "${B}"`,
    );
  });
});

describe(authorizeOperatorRules.name, () => {
  const DAY = 86_400_000;
  const NOW = Date.parse('2026-11-22T12:00:00Z');
  const policy = new RulePolicy({
    rules: {
      maxTokenLifetimeMs: DAY,
      maxGrantLifetimeMs: 14 * DAY,
      customClaims: [],
      broadClaims: ['iss', 'kid'],
      bulkConfirmThreshold: 100,
      pruneIntervalMs: 60_000,
    },
    issuers: [],
  });
  const as = (role: Role): Principal => ({ id: `c-${role}`, name: role, role });
  const spec = (revokedBefore: number | null, expiresAt: number | null): RuleSpec => ({
    claim: 'sub',
    value: 'ceo',
    iss: null,
    revokedBefore,
    expiresAt,
  });
  const upToNow = spec(NOW, NOW + DAY);
  const suspension = spec(null, NOW + DAY);
  const ban = spec(null, null);
  const outcome = (role: Role, rules: RuleSpec[]): string => {
    try {
      authorizeOperatorRules(as(role), rules, { policy, nowMs: NOW });
      return 'allowed';
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenError);
      return (error as Error).message;
    }
  };

  it.each(ROLES.filter((role) => role !== 'operator' && role !== 'admin'))(
    'refuses %s the operator API: event sources use their event endpoints',
    (role) => {
      expect(outcome(role, [upToNow])).toBe(
        `role "${role}" lacks the "revoke" permission of the operator API; event sources revoke through their event endpoints`,
      );
    },
  );

  it('lets an operator revoke up to now, and suspend future tokens for one token lifetime', () => {
    expect(outcome('operator', [upToNow, suspension])).toBe('allowed');
  });

  it('refuses an operator a ban without end, naming the permission and the rule', () => {
    expect(outcome('operator', [upToNow, ban])).toBe(
      'role "operator" lacks the "revoke:permanent" permission: the rule at /rules/1 (sub) would never expire (revokedBefore null on a claim new tokens can carry): a ban without end; give a past revokedBefore (absent: the time of the request) or ask an admin',
    );
    expect(outcome('operator', [spec(null, NOW + DAY + 1)])).toMatch(
      /lacks the "revoke:permanent" permission: the rule at \/rules\/0 \(sub\) would revoke tokens issued later until 2026-11-23T12:00:00.001Z/,
    );
  });

  it('lets an admin do all of it', () => {
    expect(outcome('admin', [upToNow, suspension, ban])).toBe('allowed');
  });
});
