import { DAY, NOW, pointersOf, policy, stored } from '../../../../test/support/rule-fixtures';
import { reinstatement, RuleNotActiveError } from './reinstatement';

describe(reinstatement.name, () => {
  const options = { policy, nowMs: NOW };

  it('removes the rule keeping its values (consumers remember the removal until expiresAt)', () => {
    expect(reinstatement(stored(), undefined, options)).toEqual({
      action: 'rule.reinstated',
      status: 'reinstated',
      revokedBefore: NOW - DAY,
      expiresAt: NOW,
    });
  });

  it('lowers to an earlier instant and recomputes expiresAt from it', () => {
    expect(reinstatement(stored(), NOW - 2 * DAY, options)).toEqual({
      action: 'rule.lowered',
      status: 'active',
      revokedBefore: NOW - 2 * DAY,
      expiresAt: NOW - DAY,
    });
    expect(reinstatement(stored({ revokedBefore: null }), NOW - DAY, options)).toMatchObject({
      revokedBefore: NOW - DAY,
    });
  });

  it('refuses an instant that is not lower than the current one', () => {
    expect(pointersOf(() => reinstatement(stored(), NOW - DAY, options))).toEqual([
      '/revokedBefore',
    ]);
    expect(pointersOf(() => reinstatement(stored(), NOW, options))).toEqual(['/revokedBefore']);
  });

  it('refuses a rule that revokes nothing any more (reinstated or expired)', () => {
    for (const status of ['reinstated', 'expired'] as const) {
      expect(() => reinstatement(stored({ status }), undefined, options)).toThrow(
        RuleNotActiveError,
      );
      expect(() => reinstatement(stored({ status }), NOW - 2 * DAY, options)).toThrow(
        RuleNotActiveError,
      );
    }
  });
});
