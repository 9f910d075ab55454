import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuditAction } from '../write-path/audit.repository';
import type { ReadScope } from '../auth/permissions';
import { rows } from '../database/sql';
import type { StoredRule } from '../write-path/stored-rule';
import type { AuditQuery } from './audit.dto';
import { Conditions } from '../database/sql-conditions';

export interface AuditRecord {
  id: number;
  recordedAt: Date;
  occurredAt: Date | null;
  actor: string;
  actorName: string | null;
  actorRole: string | null;
  action: AuditAction;
  reason: string;
  source: string;
  sourceEventId: string | null;
  revocationId: string | null;
  ruleKey: string | null;
  seq: number | null;
  before: StoredRule | null;
  after: StoredRule | null;
}

interface AuditRow {
  id: string;
  recorded_at: Date;
  occurred_at: Date | null;
  actor: string;
  actor_name: string | null;
  actor_role: string | null;
  action: AuditAction;
  reason: string;
  source: string;
  source_event_id: string | null;
  revocation_id: string | null;
  rule_key: string | null;
  seq: string | null;
  before: StoredRule | null;
  after: StoredRule | null;
}

export type AuditFilters = Omit<AuditQuery, 'limit' | 'cursor' | 'format'>;

// The actor's credential name is joined in for people reading the log; the id stays the record.
const SELECT = `SELECT a.id, a.recorded_at, a.occurred_at, a.actor, c.name AS actor_name, a.actor_role,
       a.action, a.reason, a.source, a.source_event_id, a.revocation_id, a.rule_key, a.seq,
       a.before, a.after
  FROM audit_log a LEFT JOIN api_credential c ON c.id = a.actor`;

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    recordedAt: row.recorded_at,
    occurredAt: row.occurred_at,
    actor: row.actor,
    actorName: row.actor_name,
    actorRole: row.actor_role,
    action: row.action,
    reason: row.reason,
    source: row.source,
    sourceEventId: row.source_event_id,
    revocationId: row.revocation_id,
    ruleKey: row.rule_key,
    seq: row.seq === null ? null : Number(row.seq),
    before: row.before,
    after: row.after,
  };
}

/**
 * The issuer of the rule a record is about, from the versions the record holds (a record is
 * self-contained: the rule's `iss` is part of its key and never changes).
 */
const RECORD_ISSUER = `COALESCE(a.after, a.before)->>'iss'`;

/** A principal acting for one issuer reads the records of that issuer's rules only. */
function filtered(scope: ReadScope, filters: AuditFilters): Conditions {
  return new Conditions()
    .within(scope, RECORD_ISSUER, { issuerIndependent: false })
    .add('a.actor', '=', filters.actor)
    .add('a.action', '=', filters.action)
    .add('a.source', '=', filters.source)
    .add('a.source_event_id', '=', filters.sourceEventId)
    .add('a.revocation_id', '=', filters.revocationId, '::uuid')
    .add('a.rule_key', '=', filters.ruleKey)
    .add('a.recorded_at', '>=', filters.from, '::timestamptz')
    .add('a.recorded_at', '<', filters.to, '::timestamptz');
}

/**
 * Reads the audit log. There is deliberately no update or delete here (nor anywhere): the log is
 * append-only, and the table's trigger refuses both even to its owner.
 */
@Injectable()
export class AuditLogQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** One page, newest first; keyset on the id (append order). */
  async page(
    scope: ReadScope,
    filters: AuditFilters,
    limit: number,
    beforeId: number | undefined,
  ): Promise<AuditRecord[]> {
    const where = filtered(scope, filters).add('a.id', '<', beforeId, '::bigint');
    const found = await this.query(
      `${SELECT} ${where.where} ORDER BY a.id DESC LIMIT ${where.param(limit)}`,
      where.params,
    );
    return found.map(toRecord);
  }

  /** The id of the newest record now, so that an export has a defined end; 0 when empty. */
  async newestId(): Promise<number> {
    const [row] = await rows<{ id: string | null }>(
      this.dataSource.manager,
      `SELECT max(id) AS id FROM audit_log`,
    );
    return Number(row?.id ?? 0);
  }

  /**
   * Every matching record with `afterId < id <= upToId`, oldest first, read in batches of
   * `batchSize` by keyset: memory stays bounded by one batch, and no connection is held between
   * batches (a slow reader cannot starve the pool).
   */
  async *ascending(
    scope: ReadScope,
    filters: AuditFilters,
    range: { afterId: number; upToId: number },
    batchSize: number,
  ): AsyncGenerator<AuditRecord[]> {
    let afterId = range.afterId;
    for (;;) {
      const where = filtered(scope, filters)
        .add('a.id', '>', afterId, '::bigint')
        .add('a.id', '<=', range.upToId, '::bigint');
      const batch = (
        await this.query(
          `${SELECT} ${where.where} ORDER BY a.id ASC LIMIT ${where.param(batchSize)}`,
          where.params,
        )
      ).map(toRecord);
      if (batch.length > 0) {
        yield batch;
      }
      if (batch.length < batchSize) {
        return;
      }
      afterId = batch[batch.length - 1]!.id;
    }
  }

  private query(sql: string, params: unknown[]): Promise<AuditRow[]> {
    return rows<AuditRow>(this.dataSource.manager, sql, params);
  }
}
