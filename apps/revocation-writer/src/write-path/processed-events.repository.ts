import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { deleteReceivedBefore } from '../database/batched-purge';
import { rows } from '../database/sql';
import { IdempotencyConflictError } from '../errors';
import { type EventAnswer, PendingWrites } from './pending-writes';
import type { EventSource } from './revocation-command';

/**
 * The namespace of an idempotency key. An event source, or `operator.reinstate` for the
 * operator's reinstatements: the operator API's two write endpoints take the same
 * `Idempotency-Key` header, and a key used for a create must never answer a reinstate (or the
 * other way round). Not an `EventSource`: a reinstatement is no revocation command.
 */
export type IdempotencyScope = EventSource | 'operator.reinstate';

/**
 * A claim taken in the transaction of an event, before its id is claimed, e.g. a signed
 * webhook's replay guard (WebhookDeliveryGuard). It throws to refuse the event: the transaction
 * rolls back and nothing is recorded, the claim included.
 */
export interface TransactionalClaim {
  claim(em: EntityManager): Promise<void>;
}

/** What is claimed: the idempotency key, and the event's fingerprint to compare with. */
export interface EventClaim {
  source: IdempotencyScope;
  eventId: string;
  bodySha256: string;
  receivedAt: Date;
  /**
   * Claims of the transport, taken first in the same transaction (IngestSourceEvent puts a
   * signed webhook's replay guard here). A command may carry them: RecordRevocation hands its
   * command to {@link ProcessedEventsRepository.claim} as it is.
   */
  claims?: readonly TransactionalClaim[];
}

export interface PriorEvent {
  bodySha256: string;
  result: unknown;
}

/** What {@link ProcessedEventsRepository.once} answers: this run's result, or the first one's. */
export interface OnceResult<T> {
  result: T;
  /** The key was claimed before: nothing ran, `result` is the earlier answer. */
  duplicate: boolean;
}

/** Idempotency records: one per (source, event id), with the answer the event got. */
@Injectable()
export class ProcessedEventsRepository {
  /**
   * The idempotency sequence, once for every use case: claim the key in this transaction; if it
   * was claimed before, the same fingerprint gets the earlier answer and another one is a 409
   * (`IdempotencyConflictError`); a new key runs `work` and records its answer with the claim, so
   * that a crash keeps both or neither. `work` runs in the same transaction, after the claim, so
   * a concurrent retry of the same key waits for the first commit and then gets its answer.
   */
  async once<T>(
    em: EntityManager,
    event: EventClaim,
    work: () => Promise<T>,
    pending?: PendingWrites,
  ): Promise<OnceResult<T>> {
    const prior = await this.claim(em, event, pending);
    if (prior) {
      if (prior.bodySha256 !== event.bodySha256) {
        throw new IdempotencyConflictError(event.source, event.eventId);
      }
      return { result: prior.result as T, duplicate: true };
    }
    const result = await work();
    if (pending === undefined) {
      await this.recordAnswers(em, [{ ...event, result }]);
    } else {
      pending.answers.set(PendingWrites.answerKey(event.source, event.eventId), {
        source: event.source,
        eventId: event.eventId,
        bodySha256: event.bodySha256,
        result,
      });
    }
    return { result, duplicate: false };
  }

  /**
   * Claims the ids of `events` (distinct, with no claims of their own) in one statement and
   * puts the outcome of each in `pending.claimed`, where each event's own claim takes it: the
   * batched form of the claim {@link once} makes, with the same effect.
   */
  async claimMany(
    em: EntityManager,
    events: ReadonlyArray<Omit<EventClaim, 'claims'>>,
    pending: PendingWrites,
  ): Promise<void> {
    if (events.length === 0) {
      return;
    }
    const inserted = await rows<{ source: string; event_id: string }>(
      em,
      `INSERT INTO processed_event (source, event_id, body_sha256, result, received_at)
       SELECT source, event_id, body_sha256, 'null'::jsonb, received_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
              AS c(source, event_id, body_sha256, received_at)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING source, event_id`,
      [
        events.map((e) => e.source),
        events.map((e) => e.eventId),
        events.map((e) => e.bodySha256),
        events.map((e) => e.receivedAt),
      ],
    );
    const claimedNow = new Set(inserted.map((r) => PendingWrites.answerKey(r.source, r.event_id)));
    const before = events.filter(
      (e) => !claimedNow.has(PendingWrites.answerKey(e.source, e.eventId)),
    );
    for (const key of claimedNow) {
      pending.claimed.set(key, null);
    }
    if (before.length === 0) {
      return;
    }
    const priors = await rows<{
      source: string;
      event_id: string;
      body_sha256: string;
      result: unknown;
    }>(
      em,
      `SELECT p.source, p.event_id, p.body_sha256, p.result
         FROM processed_event p
         JOIN unnest($1::text[], $2::text[]) AS c(source, event_id)
           ON p.source = c.source AND p.event_id = c.event_id`,
      [before.map((e) => e.source), before.map((e) => e.eventId)],
    );
    // One purged by the retention meanwhile is not set here: its own claim inserts it again.
    for (const prior of priors) {
      pending.claimed.set(PendingWrites.answerKey(prior.source, prior.event_id), {
        bodySha256: prior.body_sha256,
        result: prior.result,
      });
    }
  }

  /**
   * Claims (source, eventId) for this transaction, after the event's own `claims`. Returns
   * `undefined` when the event is new, or the earlier record when it was processed before. A
   * concurrent claim of the same id waits for the first transaction and then sees its committed
   * record.
   */
  private async claim(
    em: EntityManager,
    event: EventClaim,
    pending: PendingWrites | undefined,
  ): Promise<PriorEvent | undefined> {
    for (const claim of event.claims ?? []) {
      await claim.claim(em);
    }
    const key = PendingWrites.answerKey(event.source, event.eventId);
    const preclaimed = pending?.claimed.get(key);
    if (preclaimed !== undefined) {
      pending!.claimed.delete(key);
      if (preclaimed === null) {
        return undefined;
      }
      return preclaimed;
    }
    // Claimed earlier in this transaction: its answer is not stored yet.
    const earlier = pending?.answers.get(PendingWrites.answerKey(event.source, event.eventId));
    if (earlier !== undefined) {
      return { bodySha256: earlier.bodySha256, result: earlier.result };
    }
    for (;;) {
      const claimed = await rows(
        em,
        `INSERT INTO processed_event (source, event_id, body_sha256, result, received_at)
         VALUES ($1, $2, $3, 'null'::jsonb, $4)
         ON CONFLICT (source, event_id) DO NOTHING
         RETURNING 1`,
        [event.source, event.eventId, event.bodySha256, event.receivedAt],
      );
      if (claimed.length > 0) {
        return undefined;
      }
      const [prior] = await rows<{ body_sha256: string; result: unknown }>(
        em,
        `SELECT body_sha256, result FROM processed_event WHERE source = $1 AND event_id = $2`,
        [event.source, event.eventId],
      );
      if (prior) {
        return { bodySha256: prior.body_sha256, result: prior.result };
      }
      // Purged by the retention between our insert and our read: the event is new again.
    }
  }

  private async recordAnswers(
    em: EntityManager,
    answers: ReadonlyArray<{ source: string; eventId: string; result: unknown }>,
  ): Promise<void> {
    if (answers.length === 0) {
      return;
    }
    const { sql, params } = this.answersStatement(answers, 0);
    await em.query(sql, params);
  }

  /**
   * Stores the answers with their claims, its parameters numbered from `offset + 1`, for a
   * caller that writes it with others in one round trip.
   */
  answersStatement(
    answers: ReadonlyArray<{ source: string; eventId: string; result: unknown }>,
    offset: number,
  ): { sql: string; params: unknown[] } {
    return {
      sql: `UPDATE processed_event p SET result = a.result
         FROM unnest($${offset + 1}::text[], $${offset + 2}::text[], $${offset + 3}::jsonb[]) AS a(source, event_id, result)
        WHERE p.source = a.source AND p.event_id = a.event_id`,
      params: [
        answers.map((a) => a.source),
        answers.map((a) => a.eventId),
        answers.map((a) => JSON.stringify(a.result)),
      ],
    };
  }

  /** Takes the answers `pending` holds (it no longer holds them). */
  takeAnswers(pending: PendingWrites): EventAnswer[] {
    const answers = [...pending.answers.values()];
    pending.answers.clear();
    return answers;
  }

  /**
   * Deletes up to `limit` records received more than `retentionDays` ago, oldest first, and
   * returns how many. Bounded, so that one statement never holds many row locks or runs into the
   * statement timeout however much has piled up; rows another purge holds are skipped.
   */
  purgeOlderThan(em: EntityManager, retentionDays: number, limit: number): Promise<number> {
    return deleteReceivedBefore(
      em,
      { table: 'processed_event', key: 'source, event_id' },
      retentionDays,
      limit,
    );
  }
}
