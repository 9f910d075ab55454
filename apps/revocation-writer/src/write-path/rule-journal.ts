import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type AuditEntry, AuditRepository } from './audit.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
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

  async record(em: EntityManager, change: RuleChange, context: JournalContext): Promise<void> {
    const payload =
      change.after.status === 'expired' ? null : publishableEventFor(change.after, Date.now());
    await this.audit.append(em, { ...context, before: change.before, after: change.after });
    await this.outbox.enqueue(em, {
      seq: change.after.seq,
      key: change.after.key,
      payload,
      headers: context.traceHeaders,
    });
  }
}
