import { laterRevokedBefore } from '@rescind/rules';

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
  /** ms; null keeps the rule until it is removed explicitly. */
  expiresAt: number | null;
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
 * What a revocation makes of the stored rule: an active rule only moves later (the later
 * `revokedBefore` and `expiresAt` win, `null` dominates); a reinstated or expired one, or none,
 * simply takes the new values. Lowering is a reinstatement, never this.
 */
export function raisedRule(
  stored: { active: boolean; revokedBefore: number | null; expiresAt: number | null } | null,
  spec: { revokedBefore: number | null; expiresAt: number | null },
): { revokedBefore: number | null; expiresAt: number | null } {
  if (!stored?.active) {
    return { revokedBefore: spec.revokedBefore, expiresAt: spec.expiresAt };
  }
  return {
    revokedBefore: laterRevokedBefore(stored.revokedBefore, spec.revokedBefore),
    expiresAt: laterRevokedBefore(stored.expiresAt, spec.expiresAt),
  };
}
