import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency records are purged once older than `IDEMPOTENCY_RETENTION_DAYS`: the purge looks
 * for the oldest by `received_at`, which without an index is a scan of a table that, until now,
 * only grew. `IF NOT EXISTS`, so that an operator with a large table can build the index
 * beforehand without blocking writes (`CREATE INDEX CONCURRENTLY processed_event_received_at ON
 * processed_event (received_at)`); this migration then does nothing. (It cannot do so itself:
 * a concurrent build waits for every older transaction in the database, and would hold up the
 * start of a writer behind them.)
 */
export class ProcessedEventReceivedAt1764288000000 implements MigrationInterface {
  name = 'ProcessedEventReceivedAt1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS processed_event_received_at ON processed_event (received_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS processed_event_received_at`);
  }
}
