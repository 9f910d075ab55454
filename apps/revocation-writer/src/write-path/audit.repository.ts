import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { StoredRule } from './stored-rule';

export type AuditAction = 'rule.set' | 'rule.lowered' | 'rule.reinstated' | 'rule.expired';

export interface AuditEntry {
  /** Principal id (credential id, `system`, ...). */
  actor: string;
  actorRole: string | null;
  action: AuditAction;
  source: string;
  sourceEventId: string | null;
  occurredAt: Date | null;
  reason: string;
  before: StoredRule | null;
  after: StoredRule | null;
}

/** The audit log is append-only: this repository can only append (the table refuses the rest). */
@Injectable()
export class AuditRepository {
  async append(em: EntityManager, entry: AuditEntry): Promise<void> {
    const rule = entry.after ?? entry.before;
    await em.query(
      `INSERT INTO audit_log (actor, actor_role, action, source, source_event_id, occurred_at, revocation_id, rule_key, seq, reason, before, after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        entry.actor,
        entry.actorRole,
        entry.action,
        entry.source,
        entry.sourceEventId,
        entry.occurredAt,
        rule?.id ?? null,
        rule?.key ?? null,
        entry.after?.seq ?? null,
        entry.reason,
        entry.before === null ? null : JSON.stringify(entry.before),
        entry.after === null ? null : JSON.stringify(entry.after),
      ],
    );
  }
}
