/**
 * The rule model shared by the writer and every enforcement point: matching, `seq`
 * ordering, merging and expiry. Plain TypeScript, no I/O.
 */
export { DenyList } from './deny-list';
export {
  type Decision,
  ruleExpiresAt,
  laterRevokedBefore,
  revokes,
  type RuleVersion,
  type TokenClaims,
} from './rule';
