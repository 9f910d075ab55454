import { heartbeatKey, INVALIDATION_SCHEMA, type HeartbeatV1 } from '@rescind/contracts';
import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startTestConsumer } from '../support/consumer';
import { type EnforcementPoint, inProcess } from '../support/chaos/enforcement';
import { expectNoViolation } from '../support/chaos/expect-verdict';
import { HttpLoad, KafkaLoad, type Source } from '../support/chaos/load';
import { acknowledgedMore, ChaosRun, stopChaos } from '../support/chaos/run';
import { WriterProcess } from '../support/chaos/writer-process';
import { collectTopic, type ReceivedMessage, testTopics } from '../support/kafka';
import { connectToSchema, TEST_DATABASE_URL } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.chaos.example';
const PARTITIONS = 3;
const MAX_STALENESS_MS = 2000;
const topics = testTopics('chaos_store', { partitions: PARTITIONS });

jest.setTimeout(120_000);
const inputTopics: Record<Source, string> = {
  hr: topics.names.hrEvents,
  idp: topics.names.idpEvents,
  siem: topics.names.siemEvents,
};

/** A client of PostgreSQL itself (not a test schema), as the superuser of the test cluster. */
async function superuserClient(): Promise<Client> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  return client;
}

/**
 * PostgreSQL faults under a steady load, on the shared broker with this file's topics. The
 * writer runs in a process of its own (a crash is the writer's, not the test runner's) and logs
 * in as a role of this file's own, so that its connections, and no other test's, can be
 * terminated by name in pg_stat_activity (every writer's application_name is the same).
 */
describe('chaos: PostgreSQL and the outbox', () => {
  const role = `chaos_writer_${randomBytes(4).toString('hex')}`;
  let superuser: Client;
  let env: WriterEnvironment;
  let writer: WriterProcess | null = null;
  let watcherDb: Client;
  let deadLetters: { messages: ReceivedMessage[]; stop(): Promise<void> };
  let eps: EnforcementPoint[] = [];

  const startOurWriter = async (): Promise<WriterProcess> => {
    const url = new URL(TEST_DATABASE_URL);
    url.username = role;
    writer = await WriterProcess.start(env.schema, env.brokers, {
      ...topics.writerEnv,
      DATABASE_URL: url.toString(),
      HEARTBEAT_INTERVAL_MS: '250',
      KAFKA_INGEST_SOURCES: 'hr,idp,siem',
      KAFKA_INGEST_GROUP_ID: `chaos-store-${randomBytes(4).toString('hex')}`,
      KAFKA_INGEST_MAX_WAIT_MS: '50',
      KAFKA_INGEST_SESSION_TIMEOUT_MS: '6000',
    });
    return writer;
  };

  beforeAll(async () => {
    superuser = await superuserClient();
    // Superuser: it runs the migrations in a schema it did not create.
    await superuser.query(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    env = await startWriterEnvironment('chaos_store', { topics, writer: false, producer: true });
    watcherDb = await connectToSchema(env.schema);
    deadLetters = env.adopt(await collectTopic(env.brokers, topics.names.deadLetter));
    for (const name of ['a', 'b']) {
      const consumer: RevocationConsumer = await startTestConsumer(env.brokers, {
        topic: topics.names.invalidations,
        groupIdPrefix: `chaos-store-${name}`,
        maxStalenessMs: MAX_STALENESS_MS,
      });
      env.adopt(consumer);
      eps.push(inProcess(name, consumer));
    }
  });

  afterEach(stopChaos);

  // Every test starts with a running writer, whatever an earlier one left behind.
  beforeEach(async () => {
    if (writer === null || writer.exit !== null) {
      await startOurWriter();
    }
  });

  afterAll(async () => {
    eps = [];
    await writer?.stop();
    await watcherDb?.end();
    await env?.close();
    if (superuser) {
      await superuser.query(`DROP ROLE IF EXISTS ${role}`);
      await superuser.end();
    }
  });

  const terminateWriterConnections = async (): Promise<number> => {
    const { rows } = await superuser.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
         FROM pg_stat_activity WHERE usename = $1`,
      [role],
    );
    return rows[0]!.n;
  };

  /** For 3 s: every connection of the writer (pool, LISTEN session), busy or idle, every 150 ms. */
  const terminateForAWhile = async (): Promise<number> => {
    let terminated = 0;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      terminated += await terminateWriterConnections();
      await new Promise((resolve) => setTimeout(resolve, 150)); // the fault's rhythm
    }
    return terminated;
  };

  it("HTTP ingest while the writer's connections are terminated again and again: nothing lost, duplicated or wrongly allowed", async () => {
    const load = new HttpLoad({
      url: () => writer!.url,
      prefix: 'pg-http',
      iss: ISS,
      ratePerSecond: 80,
    }).start();
    const run = new ChaosRun(
      'PostgreSQL connections terminated (HTTP)',
      env.db,
      [load],
      eps,
      watcherDb,
    );
    await acknowledgedMore(load, 40);
    const terminated = await terminateForAWhile();
    // It accepts again once they are left alone, and it is still there.
    await acknowledgedMore(load, 40, { alive: () => writer!.assertRunning() });
    await load.stop();

    const verdict = await run.finish(eps, { stillRunning: () => writer!.exit === null });
    expect(terminated).toBeGreaterThan(10);
    expect(writer!.exit).toBeNull(); // a lost connection never takes the writer down (promise 5)
    expect(load.unexpected).toEqual([]);
    expectNoViolation(verdict);
    // The store was unreachable for those requests: 503 with Retry-After, never a 500 bug.
    expect(load.serverErrors).toEqual([]);
  });

  it("Kafka ingest while the writer's connections are terminated again and again: nothing lost, duplicated or wrongly allowed", async () => {
    const load = new KafkaLoad({
      producer: env.producer,
      topics: inputTopics,
      prefix: 'pg-kafka',
      iss: ISS,
      ratePerSecond: 60,
    }).start();
    const run = new ChaosRun(
      'PostgreSQL connections terminated (Kafka)',
      env.db,
      [load],
      eps,
      watcherDb,
    );
    await waitFor('the writer to ingest from the input topics', async () => {
      const { rows } = await env.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM processed_event',
      );
      return rows[0]!.n >= 20;
    });
    const lettersBefore = deadLetters.messages.length;
    const terminated = await terminateForAWhile();
    await acknowledgedMore(load, 40);
    await load.stop();

    const verdict = await run.finish(eps, { stillRunning: () => writer!.exit === null });
    // A PostgreSQL outage is retried, never dead-lettered (README, "Over Kafka"): a dead letter
    // here is an acknowledged event the writer gave up on.
    const letters = deadLetters.messages
      .slice(lettersBefore)
      .map(
        (m) => `${m.key}: ${m.headers['rescind-dlq-reason']} ${m.headers['rescind-dlq-detail']}`,
      );
    expect(terminated).toBeGreaterThan(10);
    expect(writer!.exit).toBeNull();
    expectNoViolation(verdict);
    expect(letters).toEqual([]);
  });

  /**
   * The oracle's "wrongly allowed" count fires on the known bug of the first heartbeat draft:
   * enforcement points that call themselves fresh while acknowledged revocations wait in the
   * outbox. The source cannot be changed here, so the bug is rebuilt from faults:
   * - the relay is stuck: a session of this test holds the relay's advisory lock
   *   (`pg_advisory_lock(hashtext('rescind.outbox-relay.' || schema))`, which the relay's
   *   `pg_try_advisory_xact_lock` then never gets), so acknowledged revocations stay in the
   *   outbox while the real writer goes on sending truthful heartbeats (its `publishedThrough`
   *   stops at the oldest pending row, and the enforcement points turn stale, as they must);
   * - then forged heartbeats go straight onto every partition of the invalidation topic, every
   *   200 ms, each claiming `publishedThrough = at = now` and `pending: 0`. They simulate a
   *   writer that asserts "everything acknowledged until the moment I sent this is on the topic
   *   ahead of me" without reading the outbox: freshness from the heartbeat's age alone, which is
   *   what the draft heartbeat (`seq`, `at`, `writer`, no `publishedThrough`) let consumers do.
   * The consumers, which keep the youngest proof per partition, turn fresh and allow tokens
   * whose revocations were acknowledged before the forged proof: the oracle must count them.
   */
  it('counts wrongly allowed decisions when forged heartbeats claim a stuck outbox is published', async () => {
    const lock = await connectToSchema(env.schema);
    let forging: NodeJS.Timeout | null = null;
    try {
      await lock.query(`SELECT pg_advisory_lock(hashtext('rescind.outbox-relay.' || $1))`, [
        env.schema.schema,
      ]);
      const load = new HttpLoad({
        url: () => writer!.url,
        prefix: 'forged',
        iss: ISS,
        ratePerSecond: 50,
      }).start();
      const run = new ChaosRun('stuck outbox + forged heartbeats', env.db, [load], eps, watcherDb);
      await acknowledgedMore(load, 20);
      // Truthful heartbeats: the stuck outbox turns every enforcement point stale.
      const staleness = () => Promise.all(eps.map(async (ep) => !(await ep.observe([])).fresh));
      await waitFor('the enforcement points to turn stale', async () =>
        (await staleness()).every(Boolean),
      );
      const forgedFrom = Date.now();
      const forge = async (): Promise<void> => {
        const now = Date.now();
        const heartbeat: HeartbeatV1 = {
          v: 1,
          type: 'heartbeat',
          seq: 0,
          at: now,
          publishedThrough: now,
          pending: 0,
          writer: 'forged-draft-heartbeat',
        };
        await env.producer.send({
          topic: topics.names.invalidations,
          acks: 1,
          messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
            partition,
            key: heartbeatKey(partition),
            value: JSON.stringify(heartbeat),
            headers: { 'content-type': 'application/json', 'rescind-schema': INVALIDATION_SCHEMA },
          })),
        });
      };
      await forge();
      forging = setInterval(() => void forge().catch(() => undefined), 200);
      await waitFor('the enforcement points to call themselves fresh', async () =>
        (await staleness()).every((stale) => !stale),
      );
      await acknowledgedMore(load, 40); // allowed while "fresh", with their rules in the outbox
      clearInterval(forging);
      forging = null;
      await lock.query(`SELECT pg_advisory_unlock_all()`); // the relay publishes again
      await load.stop();

      const verdict = await run.finish(eps);
      expect(verdict.wronglyAllowed).toBeGreaterThan(0);
      // Only the forgery made them lie (the first wrong decision per key came after it), at
      // both enforcement points; and once the relay runs again nothing is lost or doubled.
      expect(verdict.wrongAllowItems.every((w) => w.at >= forgedFrom)).toBe(true);
      expect(new Set(verdict.wrongAllowItems.map((w) => w.ep))).toEqual(new Set(['a', 'b']));
      expect({ lost: verdict.lost, duplicated: verdict.duplicated }).toEqual({
        lost: 0,
        duplicated: 0,
      });
    } finally {
      if (forging) {
        clearInterval(forging);
      }
      await lock.end();
    }
  });
});
