import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../../apps/revocation-writer/src/config/config';
import { PURGE_BATCH } from '../../apps/revocation-writer/src/database/batched-purge';
import { IdempotencyRetention } from '../../apps/revocation-writer/src/ingest/idempotency-retention';
import { type WebhookDeliveriesRepository } from '../../apps/revocation-writer/src/ingest/webhook-deliveries.repository';
import { ProcessedEventsRepository } from '../../apps/revocation-writer/src/write-path/processed-events.repository';
import type { TestSchema } from '../support/postgres';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

describe('IDEMPOTENCY_RETENTION_DAYS', () => {
  it('defaults to 30 days and refuses less than one, naming the variable', () => {
    expect(loadConfig({}).idempotency).toEqual({ retentionDays: 30 });
    expect(loadConfig({ IDEMPOTENCY_RETENTION_DAYS: '7' }).idempotency.retentionDays).toBe(7);
    expect(() => loadConfig({ IDEMPOTENCY_RETENTION_DAYS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ IDEMPOTENCY_RETENTION_DAYS: '0' })).toThrow(
      /IDEMPOTENCY_RETENTION_DAYS/,
    );
  });
});

/** Purging `processed_event` rows older than the retention, in bounded batches. */
describe(IdempotencyRetention.name, () => {
  let env: WriterEnvironment;
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  let retention: IdempotencyRetention;
  let repository: ProcessedEventsRepository;

  beforeAll(async () => {
    env = await startWriterEnvironment('idemretention', {
      config: { IDEMPOTENCY_RETENTION_DAYS: '7' },
    });
    ({ schema, writer, db } = env);
    retention = writer.app.get(IdempotencyRetention);
    repository = writer.app.get(ProcessedEventsRepository);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.query(`DELETE FROM processed_event`);
  });

  afterAll(() => env?.close());

  const termination = (id: string) => ({
    id,
    type: 'employee.role_changed',
    occurredAt: '2026-11-20T10:00:00Z',
    subject: `retention-${id}`,
  });

  async function post(id: string): Promise<{ status: number; duplicate: boolean }> {
    const response = await postHrEvent(writer, termination(id));
    const body = (await response.json()) as { duplicate: boolean };
    return { status: response.status, duplicate: body.duplicate };
  }

  /** Makes the record of `eventId` look received `days` ago. */
  async function age(eventId: string, days: number): Promise<void> {
    const { rowCount } = await db.query(
      `UPDATE processed_event SET received_at = now() - make_interval(days => $2) WHERE event_id = $1`,
      [eventId, days],
    );
    expect(rowCount).toBe(1);
  }

  /** `count` records of a made-up source, received `days` ago and one second apart. */
  async function insertOld(count: number, days: number): Promise<void> {
    await db.query(
      `INSERT INTO processed_event (source, event_id, body_sha256, result, received_at)
       SELECT 'hr', 'bulk-' || i, 'sha', 'null'::jsonb,
              now() - make_interval(days => $2) - make_interval(secs => i)
         FROM generate_series(1, $1) AS i`,
      [count, days],
    );
  }

  const eventIds = async (): Promise<string[]> =>
    (
      await db.query<{ event_id: string }>(`SELECT event_id FROM processed_event ORDER BY event_id`)
    ).rows.map((r) => r.event_id);

  it('purges records older than the retention and keeps newer ones; a purged id is processed again', async () => {
    for (const id of ['ret-8d', 'ret-40d', 'ret-6d', 'ret-now']) {
      expect(await post(id)).toEqual({ status: 202, duplicate: false });
    }
    await age('ret-8d', 8);
    await age('ret-40d', 40);
    await age('ret-6d', 6);

    expect(await retention.purgeAll()).toBe(2);
    expect(await eventIds()).toEqual(['ret-6d', 'ret-now']);

    // Within the retention a replay is a duplicate; after it, a new event (README says so),
    // which for a raise is harmless: the rule ends at the same or a later revokedBefore.
    const revokedBefore = async () =>
      (
        await db.query<{ ms: number }>(
          `SELECT (extract(epoch FROM revoked_before) * 1000)::float8 AS ms
             FROM revocation_rule WHERE value = 'retention-ret-8d'`,
        )
      ).rows[0]!.ms;
    const first = await revokedBefore();
    expect(await post('ret-6d')).toEqual({ status: 202, duplicate: true });
    expect(await post('ret-8d')).toEqual({ status: 202, duplicate: false });
    expect(await revokedBefore()).toBeGreaterThanOrEqual(first);
  });

  it('finds the oldest records by an index on received_at', async () => {
    const { rows } = await db.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'processed_event'`,
      [schema.schema],
    );
    expect(rows).toContainEqual({
      indexdef: expect.stringMatching(/processed_event_received_at .*\(received_at\)$/),
    });
  });

  it('deletes at most the batch size per statement, oldest first', async () => {
    await insertOld(25, 8);
    await post('ret-fresh');

    expect(await repository.purgeOlderThan(writer.app.get(DataSource).manager, 7, 10)).toBe(10);
    const left = await eventIds();
    expect(left).toHaveLength(16);
    // bulk-1 is the youngest of the old ones: the 10 oldest (bulk-16 … bulk-25) went first.
    expect(left.filter((id) => /^bulk-(1[6-9]|2[0-5])$/.test(id))).toEqual([]);
    expect(left).toContain('ret-fresh');
  });

  it('purges a backlog larger than a batch in several bounded batches', async () => {
    await insertOld(2 * PURGE_BATCH + 5, 8);
    const batch = jest.spyOn(repository, 'purgeOlderThan');

    expect(await retention.purgeAll()).toBe(2 * PURGE_BATCH + 5);

    expect(batch.mock.calls.map(([, days, limit]) => [days, limit])).toEqual([
      [7, PURGE_BATCH],
      [7, PURGE_BATCH],
      [7, PURGE_BATCH],
    ]);
    expect(await Promise.all(batch.mock.results.map((r) => r.value as Promise<number>))).toEqual([
      PURGE_BATCH,
      PURGE_BATCH,
      5,
    ]);
    expect(await eventIds()).toEqual([]);
  });
});

describe(`${IdempotencyRetention.name} schedule`, () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('purges once a minute, never two runs at once, and stops between batches on shutdown', async () => {
    const batches: Array<(deleted: number) => void> = [];
    const purgeOlderThan = jest.fn(() => new Promise<number>((resolve) => batches.push(resolve)));
    const retention = new IdempotencyRetention(
      { manager: 'em' } as unknown as DataSource,
      { purgeOlderThan } as unknown as ProcessedEventsRepository,
      { purgeOlderThan: () => Promise.resolve(0) } as unknown as WebhookDeliveriesRepository,
      loadConfig({ IDEMPOTENCY_RETENTION_DAYS: '7' }).idempotency,
    );
    retention.onApplicationBootstrap();

    await jest.advanceTimersByTimeAsync(59_999);
    expect(purgeOlderThan).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(purgeOlderThan.mock.calls).toEqual([['em', 7, PURGE_BATCH]]);

    // The first batch is still running a minute later: no second run starts beside it.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(purgeOlderThan).toHaveBeenCalledTimes(1);

    // A full batch: there may be more, the run goes on.
    batches[0]!(PURGE_BATCH);
    await jest.advanceTimersByTimeAsync(0);
    expect(purgeOlderThan).toHaveBeenCalledTimes(2);

    // Shutdown waits for the batch in flight, then starts no other, full as it was.
    const stopped = retention.onModuleDestroy();
    batches[1]!(PURGE_BATCH);
    await stopped;
    expect(purgeOlderThan).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(purgeOlderThan).toHaveBeenCalledTimes(2);
  });
});
