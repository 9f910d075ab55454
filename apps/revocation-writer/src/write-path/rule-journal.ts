import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type AuditEntry, AuditRepository } from './audit.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { PendingWrites } from './pending-writes';
import { publishableEventFor } from './rule-events';
import type { RuleChange } from './rules.repository';

/** Who changed the rule and why (the audit entry, less the versions), and the trace to carry. */
export interface JournalContext extends Omit<AuditEntry, 'before' | 'after'> {
  /** W3C trace context to carry into the Kafka headers. */
  traceHeaders: Record<string, string>;
}

/**
 * Every rule change leaves two records in the same transaction: the audit entry (who, what,
 * why, before/after) and the outbox message that tells enforcement points.
 *
 * A rule that expired (pruned: every token it matched has expired) is published as a tombstone
 * (null value) under its key, so that compaction can drop the key from the topic instead of
 * keeping a `rule.removed` for ever. A tombstone carries no `seq`; that is safe because it only
 * ever follows the rule's earlier versions on its partition (the relay publishes each key in seq
 * order), and consumers let it remove only a version that has expired by their own clock. A
 * reinstated rule stays a `rule.removed` value with its `seq`: a consumer that missed the
 * tombstone would still drop nothing live, but one that missed a reinstatement would deny.
 *
 * Every message is checked against the invalidation contract before it is enqueued
 * (`publishableEventFor`): the transaction does not commit what enforcement points cannot apply.
 */
@Injectable()
export class RuleJournal {
  constructor(
    private readonly audit: AuditRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  /** Records one change now, in the caller's transaction. */
  async record(em: EntityManager, change: RuleChange, context: JournalContext): Promise<void> {
    const pending = new PendingWrites();
    this.defer(pending, change, context);
    await this.flush(em, pending);
  }

  /**
   * Checks the change's message (it throws here, in the command that made the change) and adds
   * both records to `pending`, written by {@link flush} before the transaction commits.
   */
  defer(pending: PendingWrites, change: RuleChange, context: JournalContext): void {
    const payload =
      change.after.status === 'expired' ? null : publishableEventFor(change.after, Date.now());
    const { traceHeaders, ...entry } = context;
    pending.audit.push({ ...entry, before: change.before, after: change.after });
    pending.outbox.push({
      seq: change.after.seq,
      key: change.after.key,
      payload,
      headers: traceHeaders,
    });
  }

  /** Writes what `pending` holds of the journal and empties it. */
  async flush(em: EntityManager, pending: PendingWrites): Promise<void> {
    await this.flushWith(em, pending);
  }

  /**
   * Writes what `pending` holds of the journal, with `also` (another statement of the same
   * transaction, parameters from `$1`), in ONE round trip: each part a data-modifying CTE, which
   * PostgreSQL runs whether or not the final SELECT reads it, then the relay's NOTIFY.
   */
  async flushWith(
    em: EntityManager,
    pending: PendingWrites,
    also?: (offset: number) => { sql: string; params: unknown[] },
  ): Promise<void> {
    const audit = pending.audit.splice(0);
    const outbox = pending.outbox.splice(0);
    const parts: Array<{ sql: string; params: unknown[] }> = [];
    let offset = 0;
    const add = (part: { sql: string; params: unknown[] }): void => {
      parts.push(part);
      offset += part.params.length;
    };
    if (audit.length > 0) {
      add(this.audit.appendManyStatement(audit, offset));
    }
    if (outbox.length > 0) {
      add(this.outbox.enqueueManyStatement(outbox, offset));
    }
    if (also !== undefined) {
      add(also(offset));
    }
    if (parts.length === 0) {
      return;
    }
    const ctes = parts.map((part, i) => `w${i} AS (${part.sql})`).join(',\n');
    const params = parts.flatMap((part) => part.params);
    const final = outbox.length > 0 ? this.outbox.notifyStatement(offset) : 'SELECT 1';
    await em.query(
      `WITH ${ctes}\n${final}`,
      outbox.length > 0 ? [...params, ...this.outbox.notifyParams()] : params,
    );
  }
}
