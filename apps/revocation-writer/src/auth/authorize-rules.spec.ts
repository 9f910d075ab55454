import { ForbiddenError } from '../errors';
import type { RuleSpec } from '../rules/rule';
import { scopeToPrincipal } from './authorize-rules';
import type { Principal } from './permissions';

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
