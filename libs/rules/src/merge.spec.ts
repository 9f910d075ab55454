import fc from 'fast-check';
import {
  canonical,
  laterBound,
  mergeRevocation,
  revokesAtLeast,
  type RuleCutoffs,
  type StoredCutoffs,
} from './merge';

// A small range, so that equal instants (the edges of "later") come up often.
const bound = fc.option(fc.integer({ min: 0, max: 20 }), { nil: null, freq: 4 });
const kind = fc.constantFrom(undefined, 'iat' as const, 'auth_time' as const);
const cutoffs: fc.Arbitrary<RuleCutoffs> = fc
  .record({ revokedBefore: bound, cutoff: kind, expiresAt: bound })
  .map((c) => canonical(c.revokedBefore, c.cutoff, c.expiresAt));
const storedCutoffs: fc.Arbitrary<StoredCutoffs> = fc
  .tuple(fc.boolean(), cutoffs)
  .map(([isActive, c]) => ({ active: isActive, ...c }));
const active = (c: RuleCutoffs): StoredCutoffs => ({ active: true, ...c });
const only = (c: RuleCutoffs): RuleCutoffs => canonical(c.revokedBefore, c.cutoff, c.expiresAt);
/** `a` is no earlier than `b`, null (unbounded) being latest of all. */
const noEarlier = (a: number | null, b: number | null) => laterBound(a, b) === a;

describe(laterBound.name, () => {
  it('is the later instant, null dominating', () => {
    expect(laterBound(1_000, 2_000)).toBe(2_000);
    expect(laterBound(2_000, 1_000)).toBe(2_000);
    expect(laterBound(1_000, null)).toBeNull();
    expect(laterBound(null, 1_000)).toBeNull();
    expect(laterBound(null, null)).toBeNull();
  });

  it('is commutative, associative and idempotent, and no earlier than either bound', () => {
    fc.assert(
      fc.property(bound, bound, bound, (a, b, c) => {
        expect(laterBound(a, b)).toBe(laterBound(b, a));
        expect(laterBound(laterBound(a, b), c)).toBe(laterBound(a, laterBound(b, c)));
        expect(laterBound(a, a)).toBe(a);
        expect(noEarlier(laterBound(a, b), a) && noEarlier(laterBound(a, b), b)).toBe(true);
        expect([a, b]).toContain(laterBound(a, b));
      }),
    );
  });
});

describe(mergeRevocation.name, () => {
  it('compares with auth_time once either revocation does, and only with a cutoff', () => {
    expect(
      mergeRevocation(
        { active: true, revokedBefore: 2_000, expiresAt: 9_000 },
        { revokedBefore: 1_000, cutoff: 'auth_time', expiresAt: 5_000 },
      ),
    ).toEqual({ revokedBefore: 2_000, cutoff: 'auth_time', expiresAt: 9_000 });
    expect(
      mergeRevocation(
        { active: true, revokedBefore: null, expiresAt: 9_000 },
        { revokedBefore: 1_000, cutoff: 'auth_time', expiresAt: 5_000 },
      ),
    ).toEqual({ revokedBefore: null, expiresAt: 9_000 });
    expect(
      revokesAtLeast(
        { active: true, revokedBefore: 2_000, expiresAt: 9_000 },
        { revokedBefore: 1_000, cutoff: 'auth_time', expiresAt: 5_000 },
      ),
    ).toBe(false);
  });

  it('moves an active rule later, cutoff by cutoff, null dominating', () => {
    expect(
      mergeRevocation(
        { active: true, revokedBefore: 2_000, expiresAt: 9_000 },
        { revokedBefore: 1_000, expiresAt: null },
      ),
    ).toEqual({ revokedBefore: 2_000, expiresAt: null });
  });

  it('gives a reinstated or expired rule, or none, the new cutoffs, not merged with the old', () => {
    const incoming = { revokedBefore: 1_000, expiresAt: 2_000 };
    expect(mergeRevocation(null, incoming)).toEqual(incoming);
    expect(
      mergeRevocation({ active: false, revokedBefore: null, expiresAt: null }, incoming),
    ).toEqual(incoming);
  });

  it('returns only the cutoffs, never the incoming object itself', () => {
    const incoming = { revokedBefore: 1, expiresAt: 2, claim: 'sub' };
    const merged = mergeRevocation(null, incoming);
    expect(merged).not.toBe(incoming);
    expect(merged).toEqual({ revokedBefore: 1, expiresAt: 2 });
  });

  it('is commutative on active rules', () => {
    fc.assert(
      fc.property(cutoffs, cutoffs, (a, b) => {
        expect(mergeRevocation(active(a), b)).toEqual(mergeRevocation(active(b), a));
      }),
    );
  });

  it('is idempotent: an active rule merged with itself, or the same revocation twice, changes nothing more', () => {
    fc.assert(
      fc.property(cutoffs, storedCutoffs, cutoffs, (a, stored, incoming) => {
        expect(mergeRevocation(active(a), a)).toEqual(only(a));
        const once = mergeRevocation(stored, incoming);
        expect(mergeRevocation(active(once), incoming)).toEqual(once);
      }),
    );
  });

  it('is associative: two revocations in a row equal one of their merge, whatever is stored', () => {
    fc.assert(
      fc.property(fc.option(storedCutoffs, { nil: null }), cutoffs, cutoffs, (stored, b, c) => {
        const inTurn = mergeRevocation(active(mergeRevocation(stored, b)), c);
        expect(inTurn).toEqual(mergeRevocation(stored, mergeRevocation(active(b), c)));
      }),
    );
  });

  it('never lowers a cutoff of an active rule, and always revokes at least the revocation', () => {
    fc.assert(
      fc.property(cutoffs, cutoffs, (stored, incoming) => {
        const merged = mergeRevocation(active(stored), incoming);
        expect(noEarlier(merged.revokedBefore, stored.revokedBefore)).toBe(true);
        expect(noEarlier(merged.expiresAt, stored.expiresAt)).toBe(true);
        expect(revokesAtLeast(active(merged), incoming)).toBe(true);
      }),
    );
  });
});

describe(revokesAtLeast.name, () => {
  it('holds for an active rule whose cutoffs are no earlier, null dominating', () => {
    const minimum = { revokedBefore: 5_000, expiresAt: 9_000 };
    expect(revokesAtLeast({ active: true, revokedBefore: null, expiresAt: 9_000 }, minimum)).toBe(
      true,
    );
    expect(revokesAtLeast({ active: true, revokedBefore: 4_999, expiresAt: 9_000 }, minimum)).toBe(
      false,
    );
    expect(revokesAtLeast({ active: true, revokedBefore: 5_000, expiresAt: null }, minimum)).toBe(
      true,
    );
    expect(
      revokesAtLeast(
        { active: true, revokedBefore: 5_000, expiresAt: 9_000 },
        { ...minimum, expiresAt: null },
      ),
    ).toBe(false);
    expect(revokesAtLeast({ active: false, revokedBefore: null, expiresAt: null }, minimum)).toBe(
      false,
    );
  });

  it('agrees with merging: the stored rule revokes at least b exactly when merging b into it changes nothing', () => {
    fc.assert(
      fc.property(storedCutoffs, cutoffs, (stored, b) => {
        const merged = mergeRevocation(stored, b);
        const unchanged =
          stored.active &&
          merged.revokedBefore === stored.revokedBefore &&
          merged.cutoff === stored.cutoff &&
          merged.expiresAt === stored.expiresAt;
        expect(revokesAtLeast(stored, b)).toBe(unchanged);
      }),
    );
  });
});
