import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { startTestConsumer } from '../support/consumer';
import { type EnforcementPoint, inProcess } from '../support/chaos/enforcement';
import { expectNoViolation } from '../support/chaos/expect-verdict';
import {
  HttpLoad,
  KafkaLoad,
  type LoadRecord,
  revocation,
  type Revocation,
  type Source,
} from '../support/chaos/load';
import type { Acknowledgement } from '../support/chaos/oracle';
import { acknowledgedMore, ChaosRun, stopChaos } from '../support/chaos/run';
import { OutboxWindow } from '../support/chaos/outbox-window';
import { WriterProcess } from '../support/chaos/writer-process';
import { collectTopic, testTopics } from '../support/kafka';
import { connectToSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { INGEST_TOKEN, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.chaos.example';
const topics = testTopics('chaos_writer', { partitions: 3 });
const inputTopics: Record<Source, string> = {
  hr: topics.names.hrEvents,
  idp: topics.names.idpEvents,
  siem: topics.names.siemEvents,
};

jest.setTimeout(150_000);

/**
 * Promises 1, 2 and 3 when the writer itself dies: SIGKILLed (a process of its own, `main.ts`)
 * in the middle of HTTP ingest, in the middle of Kafka ingest, and between the broker's
 * acknowledgement of an outbox batch and marking it published; and two writers racing on the
 * same keys and the same events. The replacement writer shares the schema, the topics and the
 * input consumer group.
 */
describe('chaos: the writer', () => {
  const group = `chaos-writer-${randomBytes(4).toString('hex')}`;
  let env: WriterEnvironment;
  let writer: WriterProcess | null = null;
  let watcherDb: Client;
  let eps: EnforcementPoint[] = [];
  const writerEnv = {
    ...topics.writerEnv,
    HEARTBEAT_INTERVAL_MS: '250',
    KAFKA_INGEST_SOURCES: 'hr,idp,siem',
    KAFKA_INGEST_GROUP_ID: group,
    KAFKA_INGEST_MAX_WAIT_MS: '50',
    // How long the group waits for a SIGKILLed member before its partitions move on.
    KAFKA_INGEST_SESSION_TIMEOUT_MS: '6000',
  };
  const startOurWriter = async (): Promise<WriterProcess> =>
    (writer = await WriterProcess.start(env.schema, env.brokers, writerEnv));

  beforeAll(async () => {
    env = await startWriterEnvironment('chaos_writer', { topics, writer: false, producer: true });
    watcherDb = await connectToSchema(env.schema);
    await startOurWriter();
    for (const name of ['a', 'b']) {
      const consumer: RevocationConsumer = await startTestConsumer(env.brokers, {
        topic: topics.names.invalidations,
        groupIdPrefix: `chaos-writer-${name}`,
        maxStalenessMs: 2000,
      });
      env.adopt(consumer);
      eps.push(inProcess(name, consumer));
    }
  });

  afterEach(stopChaos);

  afterAll(async () => {
    eps = [];
    await writer?.kill();
    await watcherDb?.end();
    await env?.close();
  });

  const processed = async (): Promise<number> =>
    (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_event')).rows[0]!
      .n;

  it('SIGKILLed during HTTP ingest, replaced: nothing lost, duplicated or wrongly allowed', async () => {
    const load = new HttpLoad({
      url: () => writer?.url ?? null,
      prefix: 'kill-http',
      iss: ISS,
      ratePerSecond: 80,
    }).start();
    const run = new ChaosRun('writer SIGKILL during HTTP ingest', env.db, [load], eps, watcherDb);
    await acknowledgedMore(load, 60);
    const dead = writer!;
    writer = null;
    await dead.kill(); // with requests in flight: some committed, never answered
    await startOurWriter(); // the client retries the same events meanwhile
    await acknowledgedMore(load, 60);
    await load.stop();

    const verdict = await run.finish(eps);
    expect(load.outcomes.get('network') ?? 0).toBeGreaterThan(0); // it really was gone
    expect(load.unexpected).toEqual([]);
    expectNoViolation(verdict);
  });

  it('SIGKILLed during Kafka ingest, replaced in the same group: nothing lost, duplicated or wrongly allowed', async () => {
    const load = new KafkaLoad({
      producer: env.producer,
      topics: inputTopics,
      prefix: 'kill-kafka',
      iss: ISS,
      ratePerSecond: 60,
    }).start();
    const run = new ChaosRun('writer SIGKILL during Kafka ingest', env.db, [load], eps, watcherDb);
    const before = await processed();
    await waitFor('the writer to ingest from the input topics', async () => {
      return (await processed()) >= before + 40;
    });
    const dead = writer!;
    writer = null;
    await dead.kill(); // mid-batch: offsets of committed transactions may be uncommitted
    await startOurWriter();
    await acknowledgedMore(load, 60);
    await load.stop();

    const verdict = await run.finish(eps);
    expectNoViolation(verdict);
  });

  /**
   * Two writers on one schema, answering at once: every event goes to both (an idempotency race
   * on `(source, event id)`), and events of one round race on the same keys with those of the
   * others (HR role changes: each later one raises the rule's cutoff, a new version). Every event
   * must be journaled at most once, both answers must name the same `seq`, and every enforcement
   * point must end on PostgreSQL's version of every key.
   */
  it('two writers racing on the same keys and events: nothing lost, duplicated or wrongly allowed', async () => {
    const second: RunningWriter = await env.startWriter({ HEARTBEAT_INTERVAL_MS: '250' });
    const race: LoadRecord & { unexpected: string[] } = {
      sent: [],
      acks: [],
      outcomes: new Map(),
      unexpected: [],
    };
    const run = new ChaosRun('two writers racing', env.db, [race], eps, watcherDb);
    const post = async (url: string, r: Revocation): Promise<void> => {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const answer = await fetch(`${url}/v1/events/${r.source}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
          body: r.body,
          signal: AbortSignal.timeout(10_000),
        }).then(
          async (response) => ({ response, text: await response.text() }),
          () => null, // a timeout on a loaded machine: the same event again
        );
        if (answer === null) {
          continue;
        }
        const { response, text } = answer;
        race.outcomes.set(
          String(response.status),
          (race.outcomes.get(String(response.status)) ?? 0) + 1,
        );
        if (response.status === 202 || response.status === 200) {
          const ack: Acknowledgement = {
            source: r.source,
            eventId: r.eventId,
            key: r.key,
            via: 'http',
            ackedAt: Date.now(),
            seq: (JSON.parse(text) as { seq: number }).seq,
          };
          race.acks.push(ack);
          return;
        }
        if (response.status !== 503) {
          race.unexpected.push(`${r.eventId} at ${url}: ${response.status} ${text.slice(0, 300)}`);
          return;
        }
      }
    };
    const KEYS = 12;
    const ROUNDS = 8;
    const rounds = Array.from({ length: ROUNDS }, (_, round) =>
      Array.from({ length: KEYS }, (_, k) =>
        revocation('hr', `race-${round}-${k}`, `race-user-${k}`, ISS, 'employee.role_changed'),
      ),
    );
    race.sent.push(...rounds.flat());
    // Every round at once, each event to both writers at once: the same event twice, and up to
    // 2 x ROUNDS transactions on each key, in flight together.
    await Promise.all(rounds.flat().flatMap((r) => [post(writer!.url, r), post(second.url, r)]));
    const verdict = await run.finish(eps);
    await second.stop();
    expect(race.unexpected.slice(0, 3)).toEqual([]);
    expect(race.acks).toHaveLength(2 * KEYS * ROUNDS);
    expectNoViolation(verdict);
    // The race did contend: keys went through several versions.
    const { rows } = await env.db.query<{ versions: number }>(
      `SELECT max(n)::int AS versions FROM (SELECT count(*) AS n FROM audit_log
         WHERE rule_key LIKE '%race-user-%' AND seq IS NOT NULL GROUP BY rule_key) v`,
    );
    expect(rows[0]!.versions).toBeGreaterThan(1);
  });

  /**
   * The relay's one step no transaction guards: Kafka has acknowledged a batch, the rows are not
   * marked published yet (`publishPending`). A writer killed there leaves them pending, so its
   * replacement publishes them a second time; enforcement points must apply them once (they apply
   * by `seq`). The window is a few milliseconds; {@link OutboxWindow} widens it from outside and
   * shows the relay waiting in it before the kill.
   */
  it('SIGKILLed between the broker acknowledging a batch and marking it published: republished, applied once', async () => {
    const topic = await collectTopic(env.brokers, topics.names.invalidations);
    const window = await OutboxWindow.open(env.schema);
    /** Per seq of `seqs`, how many records of its rule version the topic holds (heartbeats aside). */
    const copies = (seqs: number[]): number[] => {
      const count = new Map<number, number>();
      for (const { value } of topic.messages) {
        const event = value as { type?: unknown; seq?: unknown } | null;
        if (event !== null && event.type !== 'heartbeat' && typeof event.seq === 'number') {
          count.set(event.seq, (count.get(event.seq) ?? 0) + 1);
        }
      }
      return seqs.map((seq) => count.get(seq) ?? 0);
    };
    try {
      const load = new HttpLoad({
        url: () => writer?.url ?? null,
        prefix: 'kill-acked',
        iss: ISS,
        ratePerSecond: 80,
      }).start();
      const run = new ChaosRun(
        'writer SIGKILL between the broker acknowledgement and marking the outbox published',
        env.db,
        [load],
        eps,
        watcherDb,
      );
      await acknowledgedMore(load, 40);
      await window.holdRelay(); // the relay publishes nothing; acknowledged rows pile up
      await waitFor(
        'acknowledged revocations pending in the outbox',
        async () => (await window.unpublished()).length >= 40,
      );
      const batch = await window.freezeOutbox(); // no row commits from here on
      expect(batch.length).toBeGreaterThanOrEqual(40);
      expect(batch.length).toBeLessThan(500); // one relay pass takes them all (OUTBOX_BATCH_SIZE)
      const released = Date.now();
      await window.releaseRelay();
      // Its UPDATE runs only once Kafka acknowledged the batch; the SHARE lock holds it there.
      const relay = await window.waitForBlockedRelay(8000);
      const waitedFor = Date.now() - released;
      const dead = writer!;
      writer = null;
      await dead.kill();
      process.stdout.write(
        `[chaos] relay (backend ${relay.pid}) waited on ${relay.waitEvent} ${waitedFor} ms after the release, SIGKILLed there; batch of ${batch.length}: seqs ${batch[0]}..${batch.at(-1)}\n`,
      );

      // The dead relay's transaction still holds every row of the batch, none marked; it ends
      // (rolled back) once its UPDATE gets the lock and the server finds the client gone.
      expect(await window.lockedByOthers(batch)).toEqual(batch);
      expect(await window.stillUnpublished(batch)).toEqual(batch);
      await window.thaw();
      await window.waitForBackendGone(relay.pid);
      expect(await window.stillUnpublished(batch)).toEqual(batch);
      // Yet the broker had acknowledged it: every record of the batch is on the topic, once.
      await waitFor('the acknowledged batch on the topic', () => copies(batch).every((n) => n > 0));
      expect(copies(batch)).toEqual(batch.map(() => 1));

      await startOurWriter(); // its relay publishes the batch again
      await waitFor('the batch published again', () => copies(batch).every((n) => n > 1));
      await acknowledgedMore(load, 40);
      await load.stop();

      const verdict = await run.finish(eps);
      expect(load.unexpected).toEqual([]);
      expectNoViolation(verdict); // applied once: every point holds exactly PostgreSQL's versions
      expect(await window.stillUnpublished(batch)).toEqual([]);
      expect(copies(batch)).toEqual(batch.map(() => 2));
    } finally {
      await window.close();
      await topic.stop();
    }
  });
});
