import type { OutboxMessage } from '../outbox/outbox.repository';
import type { AuditEntry } from './audit.repository';
import type { PriorEvent } from './processed-events.repository';
import type { StoredRule } from './stored-rule';

/** The answer an event got, to be stored with its idempotency claim. */
export interface EventAnswer {
  source: string;
  eventId: string;
  bodySha256: string;
  result: unknown;
}

/**
 * What one transaction still has to write after its commands ran: the audit entries and outbox
 * messages of every rule change, and the answers of the events it claimed. Gathered while the
 * commands run and written in a few multi-row statements just before the commit (RuleJournal
 * and ProcessedEventsRepository `flush`), so a batch of events costs a handful of round trips on
 * top of its rule writes, not four per event. Never shared between transactions.
 */
export class PendingWrites {
  readonly audit: AuditEntry[] = [];
  readonly outbox: OutboxMessage[] = [];
  /** Events claimed in this transaction, by `source` and id: a repeat in the same batch reads its answer here. */
  readonly answers = new Map<string, EventAnswer>();
  /**
   * Event ids this transaction already claimed in one statement for the whole batch
   * (`ProcessedEventsRepository.claimMany`): null when the id was new, else the earlier record.
   * Taken (and removed) by the event's own claim.
   */
  readonly claimed = new Map<string, PriorEvent | null>();
  /**
   * Rules this transaction already created in one statement, by key (`RulesRepository.insertMany`),
   * for the command that touches each key first: that command's write takes its row from here.
   */
  readonly inserted = new Map<string, StoredRule>();

  static answerKey(source: string, eventId: string): string {
    return `${source}\u0000${eventId}`;
  }
}
