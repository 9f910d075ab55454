import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { StoredRule } from './stored-rule';

export type AuditAction =
  | 'rule.set'
  | 'rule.lowered'
  | 'rule.reinstated'
  | 'rule.expired'
  /** The identity provider ended the grants a revocation asked it to (or a refresh token). */
  | 'upstream.revoked'
  /** It refused for good, or could not be reached after every attempt. */
  | 'upstream.failed';

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
   * What the writer did at an identity provider for a rule's revocation: by the system, with
   * the rule's id and key (so it shows in the rule's history), no rule snapshot.
   */
  async appendUpstream(
    em: EntityManager,
    entry: {
      action: 'upstream.revoked' | 'upstream.failed';
      actor?: string;
      actorRole?: string | null;
      source: string;
      sourceEventId: string | null;
      revocationId: string;
      ruleKey: string;
      reason: string;
    },
  ): Promise<void> {
    await em.query(
      `INSERT INTO audit_log (actor, actor_role, action, source, source_event_id, occurred_at, revocation_id, rule_key, seq, reason, before, after)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, NULL, $8, NULL, NULL)`,
      [
        entry.actor ?? 'system',
        entry.actorRole ?? null,
        entry.action,
        entry.source,
        entry.sourceEventId,
        entry.revocationId,
        entry.ruleKey,
        entry.reason,
      ],
    );
  }

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
    await this.appendMany(em, [entry]);
  }

  /**
   * Appends the entries in one statement, in order (ids follow the array): a batch of events
   * costs one round trip here, not one per rule change.
   */
  async appendMany(em: EntityManager, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    const { sql, params } = this.appendManyStatement(entries, 0);
    await em.query(sql, params);
  }

  /**
   * The statement of {@link appendMany}, its parameters numbered from `offset + 1`: for a caller
   * that writes it together with others in one round trip (as a data-modifying CTE).
   */
  appendManyStatement(
    entries: readonly AuditEntry[],
    offset: number,
  ): { sql: string; params: unknown[] } {
    const columns: unknown[][] = Array.from({ length: 12 }, () => []);
    for (const entry of entries) {
      const rule = entry.after ?? entry.before;
      const values = [
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
      ];
      values.forEach((value, column) => columns[column]!.push(value));
    }
    const p = (n: number): string => `$${offset + n}`;
    return {
      sql: `INSERT INTO audit_log (actor, actor_role, action, source, source_event_id, occurred_at, revocation_id, rule_key, seq, reason, before, after)
       SELECT actor, actor_role, action, source, source_event_id, occurred_at, revocation_id, rule_key, seq, reason, before, after
         FROM unnest(${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::timestamptz[],
                     ${p(7)}::uuid[], ${p(8)}::text[], ${p(9)}::bigint[], ${p(10)}::text[], ${p(11)}::jsonb[], ${p(12)}::jsonb[])
              WITH ORDINALITY AS e(actor, actor_role, action, source, source_event_id, occurred_at,
                                   revocation_id, rule_key, seq, reason, before, after, ord)
        ORDER BY ord`,
      params: columns,
    };
  }
}
