import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { InjectConfig, type WriterConfig } from '../config/config';
import { rows } from '../database/sql';
import { OutboxDataSource } from './outbox-data-source';
import { PublishWatermark } from './publish-watermark';

/** PostgreSQL channel the writer notifies on commit of outbox rows; payload = schema name. */
export const OUTBOX_CHANNEL = 'rescind_outbox';

export interface OutboxMessage {
  seq: number;
  key: string;
  /**
   * The invalidation event, or null for a tombstone (a pruned rule: compaction may then drop the
   * key). Stored as the JSON `null` in the jsonb column.
   */
  payload: unknown;
  headers: Record<string, string>;
}

/** What one read of the outbox says about how far publishing has got. */
export interface OutboxProgress {
  /** Unpublished rows. */
  pending: number;
  /**
   * Age of the oldest unpublished row (ms), measured by PostgreSQL from its insert to the start
   * of the read (one clock, so skew between hosts does not enter), or null when none is pending.
   */
  oldestPendingAgeMs: number | null;
  /** Highest committed rule version. */
  seq: number;
}

export interface OutboxBacklog {
  pending: number;
  oldestAgeMs: number | null;
}

@Injectable()
export class OutboxRepository {
  /** The relay's own pool (OutboxDataSource): enqueueing uses the caller's transaction instead. */
  private readonly dataSource: DataSource;

  constructor(
    outboxDataSource: OutboxDataSource,
    private readonly watermark: PublishWatermark,
    @InjectConfig('database') private readonly database: WriterConfig['database'],
  ) {
    this.dataSource = outboxDataSource.dataSource;
  }

  /** {@link enqueueMany} of one message. */
  async enqueue(em: EntityManager, message: OutboxMessage): Promise<void> {
    await this.enqueueMany(em, [message]);
  }

  /**
   * Adds the messages in the caller's transaction, in one statement, and wakes the relay once
   * that commits (one NOTIFY, however many rows). Tells the heartbeat's watermark first: this
   * writer may commit (and acknowledge) a change it has not read back yet, whether or not the
   * LISTEN session is there to hear of it.
   */
  async enqueueMany(em: EntityManager, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) {
      return;
    }
    const { sql, params } = this.enqueueManyStatement(messages, 0);
    await em.query(sql, params);
    await em.query(this.notifyStatement(0), this.notifyParams());
  }

  /**
   * The insert of {@link enqueueMany}, its parameters numbered from `offset + 1`, for a caller
   * that writes it with others in one round trip; it must also run {@link notifyStatement}. Tells
   * the heartbeat's watermark: this writer may commit (and acknowledge) a change it has not read
   * back yet.
   */
  enqueueManyStatement(
    messages: readonly OutboxMessage[],
    offset: number,
  ): { sql: string; params: unknown[] } {
    if (messages.length > 0) {
      this.watermark.notified(Date.now());
    }
    return {
      sql: `INSERT INTO outbox (seq, topic_key, payload, headers)
       SELECT * FROM unnest($${offset + 1}::bigint[], $${offset + 2}::text[], $${offset + 3}::jsonb[], $${offset + 4}::jsonb[])`,
      params: [
        messages.map((m) => m.seq),
        messages.map((m) => m.key),
        messages.map((m) => JSON.stringify(m.payload)),
        messages.map((m) => JSON.stringify(m.headers)),
      ],
    };
  }

  /** Wakes the relay once the transaction commits (NOTIFY is delivered only on commit). */
  notifyStatement(offset: number): string {
    return `SELECT pg_notify($${offset + 1}, $${offset + 2})`;
  }

  notifyParams(): unknown[] {
    return [OUTBOX_CHANNEL, this.database.schema];
  }

  /**
   * Locks up to `limit` unpublished messages, hands them to `publish`, and marks them published
   * only after `publish` resolved, i.e. after the broker acknowledged. If anything fails, the
   * transaction rolls back and they stay pending. Selecting by state rather than above a cursor
   * means a row whose transaction committed late (with a lower seq than rows already published)
   * is still found.
   *
   * One relay publishes at a time (a transaction-level advisory lock per schema; a relay that
   * does not get it publishes nothing this pass and returns 0). Kafka compaction keeps the last
   * record of a key by offset, not the one with the highest seq, so the versions of one key must
   * reach the topic in seq order. Per key, commit order is seq order (a rule's seq is drawn under
   * its row lock), and one relay sends in seq order; two relays with SKIP LOCKED could send two
   * versions of one key from two batches in either order, and the stale one could survive
   * compaction. Serialising costs little: one relay already publishes thousands of rows per
   * second, and the others take over within a poll interval when it dies (the lock ends with its
   * transaction). Rows are locked without SKIP LOCKED as well, so a relay of an older writer
   * version that takes no advisory lock is waited for rather than overtaken.
   */
  async publishPending(
    limit: number,
    publish: (messages: OutboxMessage[]) => Promise<void>,
  ): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const [lock] = await rows<{ locked: boolean }>(
        em,
        `SELECT pg_try_advisory_xact_lock(hashtext('rescind.outbox-relay.' || $1)) AS locked`,
        [this.database.schema],
      );
      if (!lock?.locked) {
        return 0; // another relay is publishing; it also takes what was committed meanwhile
      }
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
          FOR UPDATE`,
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
   * How far publishing has got, in one statement (one snapshot). `statement_timestamp()` is
   * taken before the snapshot, so every row committed before it is seen: a row not yet published
   * here is the oldest acknowledged change that enforcement points may still be missing.
   */
  async progress(): Promise<OutboxProgress> {
    const [row] = await rows<{ pending: number; oldest_age_ms: number | null; seq: string | null }>(
      this.dataSource.manager,
      `SELECT count(*)::int AS pending,
              (extract(epoch FROM statement_timestamp() - min(created_at)) * 1000)::float8
                AS oldest_age_ms,
              (SELECT max(seq) FROM revocation_rule) AS seq
         FROM outbox
        WHERE published_at IS NULL`,
    );
    return {
      pending: row?.pending ?? 0,
      oldestPendingAgeMs:
        row?.oldest_age_ms === null || row?.oldest_age_ms === undefined
          ? null
          : Math.max(0, Math.ceil(row.oldest_age_ms)),
      seq: Number(row?.seq ?? 0),
    };
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

  /** The unpublished rows and the oldest one's age, for health and metrics: {@link progress}. */
  async backlog(): Promise<OutboxBacklog> {
    const { pending, oldestPendingAgeMs } = await this.progress();
    return { pending, oldestAgeMs: oldestPendingAgeMs };
  }
}
