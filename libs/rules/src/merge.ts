/**
 * How revocations combine on one rule key, decided once for every writer path (the write use
 * case, RFC 7009's "already in force" check and the operator's dry run). Instants are epoch
 * milliseconds; `null` means unbounded: every token for `revokedBefore`, never for `expiresAt`.
 */

import type { RuleCutoff } from '@rescind/contracts';

/** The two cutoffs a revocation sets on a rule, and what `revokedBefore` is compared with. */
export interface RuleCutoffs {
  /** Tokens issued strictly before it are revoked; null: every matching token. */
  revokedBefore: number | null;
  /**
   * `auth_time`: `revokedBefore` is compared with the token's authentication time, which revokes
   * at least what the same cutoff on `iat` (absent) does. Meaningless with `revokedBefore: null`.
   */
  cutoff?: RuleCutoff;
  /** After it no matching token can still be valid; null: kept until removed explicitly. */
  expiresAt: number | null;
}

/**
 * A stored rule as merging sees it: its cutoffs, and whether it still revokes. A reinstated or
 * expired rule is not active: a new revocation starts it afresh rather than extending it.
 */
export interface StoredCutoffs extends RuleCutoffs {
  active: boolean;
}

/**
 * The later of two bounds, where `null` (unbounded) dominates. Used for both cutoffs: a later
 * `revokedBefore` revokes more tokens, a later `expiresAt` keeps the rule longer.
 *
 * @example
 * laterBound(1_000, 2_000); // 2_000
 * laterBound(1_000, null); // null
 */
export function laterBound(a: number | null, b: number | null): number | null {
  if (a === null || b === null) {
    return null;
  }
  return Math.max(a, b);
}

/**
 * What a revocation makes of the stored rule: an active rule only moves later (the later of
 * each cutoff wins, {@link laterBound}, and `auth_time` wins over `iat`); a reinstated or expired
 * one, or none, simply takes the new cutoffs. Lowering a cutoff is a reinstatement, never this.
 *
 * @example
 * mergeRevocation({ active: true, revokedBefore: 2_000, expiresAt: 9_000 }, { revokedBefore: 1_000, expiresAt: null });
 * // { revokedBefore: 2_000, expiresAt: null }
 */
export function mergeRevocation(stored: StoredCutoffs | null, incoming: RuleCutoffs): RuleCutoffs {
  if (stored === null || !stored.active) {
    return canonical(incoming.revokedBefore, incoming.cutoff, incoming.expiresAt);
  }
  const revokedBefore = laterBound(stored.revokedBefore, incoming.revokedBefore);
  const cutoff =
    stored.cutoff === 'auth_time' || incoming.cutoff === 'auth_time' ? 'auth_time' : undefined;
  return canonical(revokedBefore, cutoff, laterBound(stored.expiresAt, incoming.expiresAt));
}

/**
 * Cutoffs as they are stored and compared: `cutoff` only when it is `auth_time` and there is a
 * `revokedBefore` to compare (with `null` every token is revoked whatever it is compared with).
 */
export function canonical(
  revokedBefore: number | null,
  cutoff: RuleCutoff | undefined,
  expiresAt: number | null,
): RuleCutoffs {
  return cutoff === 'auth_time' && revokedBefore !== null
    ? { revokedBefore, cutoff, expiresAt }
    : { revokedBefore, expiresAt };
}

/**
 * Dominance: the stored rule already revokes at least `minimum`, so merging `minimum` into it
 * would change nothing. Active, neither cutoff earlier than the minimum's (null dominating), and
 * compared with `auth_time` if the minimum's is (unless the stored rule revokes every token).
 *
 * @example
 * revokesAtLeast({ active: true, revokedBefore: null, expiresAt: 9_000 }, { revokedBefore: 5_000, expiresAt: 9_000 }); // true
 */
export function revokesAtLeast(stored: StoredCutoffs, minimum: RuleCutoffs): boolean {
  return (
    stored.active &&
    laterBound(stored.revokedBefore, minimum.revokedBefore) === stored.revokedBefore &&
    (stored.revokedBefore === null ||
      minimum.cutoff !== 'auth_time' ||
      minimum.revokedBefore === null ||
      stored.cutoff === 'auth_time') &&
    laterBound(stored.expiresAt, minimum.expiresAt) === stored.expiresAt
  );
}
