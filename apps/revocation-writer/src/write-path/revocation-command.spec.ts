import { isInForce } from './revocation-command';

describe(isInForce.name, () => {
  const T = 1_700_000_000_000;
  const active = (revokedBefore: number | null, expiresAt: number | null) => ({
    status: 'active' as const,
    revokedBefore,
    expiresAt,
  });

  it('holds when the active rule revokes at least as many tokens for at least as long', () => {
    expect(isInForce(active(null, T), { revokedBefore: null, expiresAt: T })).toBe(true);
    expect(isInForce(active(null, T + 1), { revokedBefore: null, expiresAt: T })).toBe(true);
    expect(isInForce(active(T + 1, T), { revokedBefore: T, expiresAt: T })).toBe(true);
    // null dominates: every token, and never expiring.
    expect(isInForce(active(null, null), { revokedBefore: T, expiresAt: T })).toBe(true);
  });

  it('fails when the rule expires earlier, or never was asked to', () => {
    expect(isInForce(active(null, T - 1), { revokedBefore: null, expiresAt: T })).toBe(false);
    expect(isInForce(active(null, T), { revokedBefore: null, expiresAt: null })).toBe(false);
  });

  it('fails when an operator lowered the rule below what is asked', () => {
    expect(isInForce(active(T, T), { revokedBefore: null, expiresAt: T })).toBe(false);
    expect(isInForce(active(T - 1, T), { revokedBefore: T, expiresAt: T })).toBe(false);
  });

  it('fails for a reinstated or expired rule, whatever its values', () => {
    for (const status of ['reinstated', 'expired'] as const) {
      expect(
        isInForce(
          { status, revokedBefore: null, expiresAt: null },
          { revokedBefore: T, expiresAt: T },
        ),
      ).toBe(false);
    }
  });
});
