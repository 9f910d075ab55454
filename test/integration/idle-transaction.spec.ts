import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import { runMigrations } from '../../apps/revocation-writer/src/database/data-source';
import { OutboxDataSource } from '../../apps/revocation-writer/src/outbox/outbox-data-source';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';

/**
 * A relay whose writer was cut off while it waited on Kafka inside its transaction (host gone,
 * network partition): PostgreSQL must end that session within DATABASE_IDLE_IN_TRANSACTION_
 * TIMEOUT_MS, or its advisory lock keeps every other writer's relay from publishing until TCP
 * gives up, hours later.
 */
describe("the writer's PostgreSQL sessions idle inside a transaction", () => {
  let schema: TestSchema;
  let outbox: OutboxDataSource;
  let other: Client;

  beforeAll(async () => {
    schema = await createTestSchema('idletx');
    const config = loadConfig({
      DATABASE_URL: schema.url,
      DATABASE_SCHEMA: schema.schema,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1000',
    });
    await runMigrations(config.database);
    outbox = await OutboxDataSource.connect(config.database, config.outbox);
    other = await connectToSchema(schema);
  });

  afterAll(async () => {
    await other?.end();
    await outbox?.onApplicationShutdown();
    await schema?.drop();
  });

  it("are ended by PostgreSQL after the timeout, releasing the relay's lock for another writer", async () => {
    const lock = `hashtext('rescind.outbox-relay.' || '${schema.schema}')`;
    let holderPid = 0;
    let afterTheWait: unknown = null;
    const holder = outbox.dataSource.transaction(async (em) => {
      const [row] = await em.query<Array<{ pid: number; locked: boolean }>>(
        `SELECT pg_backend_pid() AS pid, pg_try_advisory_xact_lock(${lock}) AS locked`,
      );
      expect(row!.locked).toBe(true);
      holderPid = row!.pid;
      // What a relay does while Kafka does not answer: nothing, inside its transaction.
      await sleep(3000);
      afterTheWait = await em.query('SELECT 1').catch((error: unknown) => error);
    });
    await waitFor('the holder to take the lock', () => holderPid !== 0);
    const { rows: held } = await other.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(${lock}) AS locked`,
    );
    expect(held[0]!.locked).toBe(false);

    // Another writer's relay gets the lock well before the holder wakes up.
    await waitFor(
      'the lock to be free again',
      async () => {
        const { rows } = await other.query<{ locked: boolean }>(
          `SELECT pg_try_advisory_xact_lock(${lock}) AS locked`,
        );
        return rows[0]!.locked;
      },
      { timeoutMs: 2500, intervalMs: 100 },
    );
    const { rows: sessions } = await other.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
      holderPid,
    ]);
    expect(sessions).toEqual([]);

    // The holder learns it at its next statement: its transaction is gone, nothing it does counts.
    await expect(holder).rejects.toThrow();
    expect(afterTheWait).toBeInstanceOf(Error);
  });
});
