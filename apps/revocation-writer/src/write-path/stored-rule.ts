import type { RuleCutoff } from '@rescind/contracts';
import { canonicalCutoffs, type StoredCutoffs } from '@rescind/rules';

/** `active` revokes; `reinstated` was removed by an operator; `expired` outlived every token. */
export type RuleStatus = 'active' | 'reinstated' | 'expired';

/** A rule as the writer stores it. Instants are epoch milliseconds. */
export interface StoredRule {
  id: string;
  key: string;
  claim: string;
  value: string;
  iss: string | null;
  revokedBefore: number | null;
  /** Present only as `auth_time` with a `revokedBefore` (absent: compared with `iat`). */
  cutoff?: RuleCutoff;
  expiresAt: number | null;
  seq: number;
  status: RuleStatus;
  source: string;
  sourceEventId: string | null;
  reason: string;
  createdAt: number;
  updatedAt: number;
  removedAt: number | null;
}

/** What a revocation asks for, before it is merged with what is stored. */
export interface RuleSpec {
  claim: string;
  value: string;
  iss: string | null;
  /** ms; null revokes every matching token whatever its iat. */
  revokedBefore: number | null;
  /**
   * What `revokedBefore` is compared with: the token's `iat` (absent) or its `auth_time`, so
   * that tokens minted later from a grant obtained before the cutoff are revoked too.
   */
  cutoff?: RuleCutoff;
  /** ms; null keeps the rule until it is removed explicitly. */
  expiresAt: number | null;
  /**
   * The revocation takes everything of a subject (or client) down, including what its earlier
   * grants (refresh tokens, sessions) can still mint: the writer also asks the issuer's identity
   * provider to revoke those grants when the issuer offers a global token revocation endpoint.
   */
  grantWide?: boolean;
  /**
   * Where the input named `value` and `iss` (JSON Pointers into the request body or message), so
   * that a rule that cannot be published is refused naming the member the caller sent. Absent:
   * `/rules/<index>/value` and `/rules/<index>/iss`, as in the operator API.
   */
  origin?: RuleOrigin;
}

/** JSON Pointers (RFC 6901) of the input members a rule's value and issuer came from. */
export interface RuleOrigin {
  value: string;
  /** Absent when the issuer did not come from the input (none, or the credential's own). */
  iss?: string;
}

/**
 * The stored rule as `@rescind/rules` merges it (`mergeRevocation`, `revokesAtLeast`): only an
 * active rule still revokes; a reinstated or expired one is started afresh.
 */
export function cutoffsOf(
  rule: Pick<StoredRule, 'status' | 'revokedBefore' | 'cutoff' | 'expiresAt'>,
): StoredCutoffs {
  return {
    active: rule.status === 'active',
    ...canonicalCutoffs(rule.revokedBefore, rule.cutoff, rule.expiresAt),
  };
}
