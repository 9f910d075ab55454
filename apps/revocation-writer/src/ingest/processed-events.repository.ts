import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { rows } from '../database/sql';

export interface PriorEvent {
  bodySha256: string;
  result: unknown;
}

/** Idempotency records: one per (source, event id), with the answer the event got. */
@Injectable()
export class ProcessedEventsRepository {
  /**
   * Claims (source, eventId) for this transaction. Returns `undefined` when the event is new,
   * or the earlier record when it was processed before. A concurrent claim of the same id
   * waits for the first transaction and then sees its committed record.
   */
  async claim(
    em: EntityManager,
    event: { source: string; eventId: string; bodySha256: string; receivedAt: Date },
  ): Promise<PriorEvent | undefined> {
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
    if (!prior) {
      throw new Error(
        `processed_event (${event.source}, ${event.eventId}) conflicted but cannot be read`,
      );
    }
    return { bodySha256: prior.body_sha256, result: prior.result };
  }

  async recordResult(
    em: EntityManager,
    event: { source: string; eventId: string },
    result: unknown,
  ): Promise<void> {
    await em.query(`UPDATE processed_event SET result = $3 WHERE source = $1 AND event_id = $2`, [
      event.source,
      event.eventId,
      JSON.stringify(result),
    ]);
  }
}
