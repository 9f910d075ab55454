import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { rows } from '../database/sql';

/** PostgreSQL channel the writer notifies on commit of outbox rows; payload = schema name. */
export const OUTBOX_CHANNEL = 'rescind_outbox';

export interface OutboxMessage {
  seq: number;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
}

export interface OutboxBacklog {
  pending: number;
  oldestAgeMs: number | null;
}

@Injectable()
export class OutboxRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {}

  /** Adds a message in the caller's transaction and wakes the relay once that commits. */
  async enqueue(em: EntityManager, message: OutboxMessage): Promise<void> {
    await em.query(
      `INSERT INTO outbox (seq, topic_key, payload, headers) VALUES ($1, $2, $3, $4)`,
      [message.seq, message.key, JSON.stringify(message.payload), JSON.stringify(message.headers)],
    );
    // NOTIFY is delivered only if and when the transaction commits.
    await em.query(`SELECT pg_notify($1, $2)`, [OUTBOX_CHANNEL, this.config.database.schema]);
  }

  /**
   * Locks up to `limit` unpublished messages (skipping those another relay holds), hands them
   * to `publish`, and marks them published only after `publish` resolved, i.e. after the
   * broker acknowledged. If anything fails, the transaction rolls back and they stay pending.
   * Selecting by state rather than above a cursor means a row whose transaction committed late
   * (with a lower seq than rows already published) is still found.
   */
  async publishPending(
    limit: number,
    publish: (messages: OutboxMessage[]) => Promise<void>,
  ): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const pending = await rows<{
        seq: string;
        topic_key: string;
        payload: unknown;
        headers: Record<string, string>;
      }>(
        em,
        `SELECT seq, topic_key, payload, headers FROM outbox
          WHERE published_at IS NULL
          ORDER BY seq
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (pending.length === 0) {
        return 0;
      }
      await publish(
        pending.map((r) => ({
          seq: Number(r.seq),
          key: r.topic_key,
          payload: r.payload,
          headers: r.headers,
        })),
      );
      await em.query(
        `UPDATE outbox SET published_at = clock_timestamp() WHERE seq = ANY($1::bigint[])`,
        [pending.map((r) => r.seq)],
      );
      return pending.length;
    });
  }

  /**
   * Deletes at most `limit` of the oldest published messages past the retention, skipping rows
   * a relay holds; returns how many.
   */
  async purgePublished(retentionSeconds: number, limit: number): Promise<number> {
    const deleted = await rows(
      this.dataSource.manager,
      `DELETE FROM outbox
        WHERE seq IN (
          SELECT seq FROM outbox
           WHERE published_at < clock_timestamp() - make_interval(secs => $1)
           ORDER BY published_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED)
        RETURNING 1`,
      [retentionSeconds, limit],
    );
    return deleted.length;
  }

  async backlog(): Promise<OutboxBacklog> {
    const [row] = await rows<{ pending: string; oldest: Date | null }>(
      this.dataSource.manager,
      `SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL`,
    );
    return {
      pending: Number(row?.pending ?? 0),
      oldestAgeMs: row?.oldest ? Math.max(0, Date.now() - row.oldest.getTime()) : null,
    };
  }
}
