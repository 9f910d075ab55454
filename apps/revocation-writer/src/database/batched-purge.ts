import type { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { rows } from './sql';

/** Rows deleted per statement: short row locks, well inside the statement timeout. */
export const PURGE_BATCH = 1000;
/** How often a purge runs (ms): retentions are minutes to days, so each run finds little. */
export const PURGE_INTERVAL_MS = 60_000;

/** How a {@link BatchedPurge} paces itself; the defaults are those of the retention purges. */
export interface BatchedPurgeOptions {
  /** Rows per batch (default {@link PURGE_BATCH}). */
  batchSize?: number;
  /** Time between two runs (ms, default {@link PURGE_INTERVAL_MS}). */
  intervalMs?: number;
  /** What a run did, for the log line (default "purged"; the rule pruner "expired"). */
  verb?: string;
}

/**
 * Runs a purge periodically: `deleteBatch(limit)` removes (or expires) at most `limit` of the
 * oldest due rows in one transaction and returns how many; a run repeats it until a batch comes
 * back short. Never two runs at once (a first run after an upgrade may face a large backlog),
 * and `stop()` waits for the batch in flight but starts no other, so shutdown never waits for a
 * whole backlog. Failures are logged; the next run tries again. Serves the retention purges
 * (idempotency records, webhook guards, published outbox rows) and the rule pruner.
 */
export class BatchedPurge {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopping = false;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly verb: string;

  constructor(
    /** What is purged, for the log: e.g. "published outbox row". */
    private readonly what: string,
    private readonly deleteBatch: (limit: number) => Promise<number>,
    private readonly logger: Pick<Logger, 'log' | 'warn'>,
    options: BatchedPurgeOptions = {},
  ) {
    this.batchSize = options.batchSize ?? PURGE_BATCH;
    this.intervalMs = options.intervalMs ?? PURGE_INTERVAL_MS;
    this.verb = options.verb ?? 'purged';
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) {
        return;
      }
      this.running = this.purgeAll()
        .then((n) => n > 0 && this.logger.log(`${this.verb} ${n} ${this.what}(s)`))
        .catch((error: unknown) => this.logger.warn(`${this.what} purge failed: ${String(error)}`))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) {
      clearInterval(this.timer);
    }
    await this.running;
  }

  /** Deletes every expired row, a bounded batch at a time; returns how many. */
  async purgeAll(): Promise<number> {
    let total = 0;
    while (!this.stopping) {
      const n = await this.deleteBatch(this.batchSize);
      total += n;
      if (n < this.batchSize) {
        break;
      }
    }
    return total;
  }
}

/**
 * Deletes at most `limit` of the oldest rows of `table` received more than `retentionDays` ago
 * (by `received_at`), oldest first, skipping rows another purge holds; returns how many. `table`
 * and `key` are code constants (identifiers cannot be parameters), never input.
 */
export async function deleteReceivedBefore(
  em: EntityManager,
  target: { table: 'processed_event' | 'webhook_delivery'; key: string },
  retentionDays: number,
  limit: number,
): Promise<number> {
  const { table, key } = target;
  const deleted = await rows(
    em,
    `DELETE FROM ${table}
      WHERE (${key}) IN (
        SELECT ${key} FROM ${table}
         WHERE received_at < clock_timestamp() - make_interval(days => $1)
         ORDER BY received_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
      RETURNING 1`,
    [retentionDays, limit],
  );
  return deleted.length;
}
