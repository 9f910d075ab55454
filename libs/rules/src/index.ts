/**
 * The rule model shared by the writer and every enforcement point: matching, `seq`
 * ordering, merging and expiry. Plain TypeScript, no I/O.
 */
export { tokenClaim, tokenClient } from './claims';
export { DenyList, type DenyListSnapshot } from './deny-list';
export type { DenyListSnapshotMeta } from './snapshot/encode-snapshot';
export { DenyListSnapshotError, type DenyListSnapshotErrorCode } from './snapshot/snapshot-error';
export {
  canonical as canonicalCutoffs,
  laterBound,
  mergeRevocation,
  revokesAtLeast,
  type RuleCutoffs,
  type StoredCutoffs,
} from './merge';
export {
  type Decision,
  isExpired,
  ruleExpiresAt,
  revokes,
  type RuleVersion,
  type TokenClaims,
} from './rule';
