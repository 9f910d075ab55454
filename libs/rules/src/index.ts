/**
 * The rule model shared by the writer and every enforcement point: matching, `seq`
 * ordering, merging and expiry. Plain TypeScript, no I/O.
 */
export { tokenClaim, tokenClient } from './claims';
export { DenyList } from './deny-list';
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
