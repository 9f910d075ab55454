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
  /**
   * The sources of every revocation (`rule.set`) of this rule since it was last made inactive
   * (reinstated or expired): who has a say in keeping it.
   */
  async sourcesSinceActivated(em: EntityManager, revocationId: string): Promise<string[]> {
    const found: Array<{ source: string }> = await em.query(
      `SELECT DISTINCT source FROM audit_log
        WHERE revocation_id = $1 AND action = 'rule.set'
          AND id > COALESCE((SELECT max(id) FROM audit_log
                              WHERE revocation_id = $1 AND action IN ('rule.reinstated', 'rule.expired')), 0)`,
      [revocationId],
    );
    return found.map((row) => row.source);
  }

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
