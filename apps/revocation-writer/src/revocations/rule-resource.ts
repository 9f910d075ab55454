import type { StoredRule } from '../write-path/stored-rule';
import type { RuleResource } from './dto/revocations.dto';

/** Epoch milliseconds as RFC 3339 (UTC, millisecond precision), the way the API shows instants. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

export function rfc3339OrNull(ms: number | null): string | null {
  return ms === null ? null : rfc3339(ms);
}

/** A stored rule (or a version of one kept in the audit log) as the API shows it. */
export function toRuleResource(rule: StoredRule): RuleResource {
  return {
    id: rule.id,
    key: rule.key,
    claim: rule.claim,
    value: rule.value,
    iss: rule.iss,
    revokedBefore: rfc3339OrNull(rule.revokedBefore),
    expiresAt: rfc3339OrNull(rule.expiresAt),
    seq: rule.seq,
    status: rule.status,
    source: rule.source,
    sourceEventId: rule.sourceEventId,
    reason: rule.reason,
    createdAt: rfc3339(rule.createdAt),
    updatedAt: rfc3339(rule.updatedAt),
    removedAt: rfc3339OrNull(rule.removedAt),
  };
}
