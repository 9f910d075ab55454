import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type AuditAction, AuditRepository } from '../audit/audit.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { invalidationEventFor } from './rule-events';
import type { RuleChange } from './rules.repository';

export interface JournalContext {
  actor: string;
  actorRole: string | null;
  action: AuditAction;
  source: string;
  sourceEventId: string | null;
  occurredAt: Date | null;
  reason: string;
  /** W3C trace context to carry into the Kafka headers. */
  traceHeaders: Record<string, string>;
}

/**
 * Every rule change leaves two records in the same transaction: the audit entry (who, what,
 * why, before/after) and the outbox message that tells enforcement points.
 */
@Injectable()
export class RuleJournal {
  constructor(
    private readonly audit: AuditRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  async record(em: EntityManager, change: RuleChange, context: JournalContext): Promise<void> {
    await this.audit.append(em, { ...context, before: change.before, after: change.after });
    await this.outbox.enqueue(em, {
      seq: change.after.seq,
      key: change.after.key,
      payload: invalidationEventFor(change.after, Date.now()),
      headers: context.traceHeaders,
    });
  }
}
