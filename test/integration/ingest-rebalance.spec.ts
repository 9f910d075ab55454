import { type Admin, AssignerProtocol, Kafka, logLevel, type Producer } from 'kafkajs';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { Client } from 'pg';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { createTestTopics, sharedBrokers, type TestTopics } from '../support/kafka';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { type RunningWriter, startWriter } from '../support/writer';

/**
 * Promise 1 and 2 across a consumer-group rebalance: writer replicas share one group on the input
 * topics while events arrive steadily; one replica joins, one leaves cleanly, one is SIGKILLed in
 * the middle of its work. Every event must take effect exactly once: no event lost (its offset
 * committed before its transaction), none applied twice (redelivery after a rebalance is absorbed
 * by idempotency), every offset committed in the end, nothing dead-lettered.
 */

const ROOT = path.resolve(__dirname, '../..');
const PARTITIONS = 6;
/** The group's session timeout: how long the broker waits for the killed replica. */
const SESSION_TIMEOUT_MS = 6000;
/** Events per second while replicas come and go. */
const RATE_PER_SECOND = 50;

type Source = 'hr' | 'idp' | 'siem';
const SOURCES: Source[] = ['hr', 'idp', 'siem'];

function sourceEvent(source: Source, id: string): string {
  const base = { id, occurredAt: new Date().toISOString(), subject: `${id}-user` };
  switch (source) {
    case 'hr':
      return JSON.stringify({ ...base, type: 'employee.terminated' });
    case 'idp':
      return JSON.stringify({ ...base, type: 'user.disabled' });
    case 'siem':
      return JSON.stringify({ ...base, type: 'credential.compromised', severity: 'high' });
  }
}

/**
 * Produces events at a steady rate until stopped: load, not a wait (every wait below is on a
 * condition). Remembers what the broker acknowledged, by source.
 */
class SteadyLoad {
  readonly produced = new Map<Source, string[]>(SOURCES.map((s) => [s, []]));
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private n = 0;
  failure: unknown = null;

  constructor(
    private readonly producer: Producer,
    private readonly topics: Record<Source, string>,
  ) {}

  get count(): number {
    return [...this.produced.values()].reduce((sum, ids) => sum + ids.length, 0);
  }

  start(): void {
    this.timer = setInterval(() => this.sendOne(), 1000 / RATE_PER_SECOND);
  }

  async stop(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
    }
    await Promise.all(this.inFlight);
  }

  private sendOne(): void {
    const source = SOURCES[this.n % SOURCES.length]!;
    const id = `rb-${source}-${++this.n}`;
    const sent = this.producer
      .send({
        topic: this.topics[source],
        acks: -1,
        messages: [{ key: id, value: sourceEvent(source, id) }],
      })
      .then(() => {
        this.produced.get(source)!.push(id);
      })
      .catch((error: unknown) => {
        this.failure = error;
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return address.port;
}

/** A writer replica in a process of its own (`main.ts`), so that it can be SIGKILLed. */
class WriterProcess {
  private stderr = '';
  private readonly exited: Promise<unknown>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.exited = once(child, 'exit');
  }

  static async start(env: Record<string, string>): Promise<WriterProcess> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/revocation-writer/src/main.ts',
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const writer = new WriterProcess(child, `http://127.0.0.1:${port}`);
    await writer.answers().catch(async (error: unknown) => {
      await writer.kill();
      throw error;
    });
    return writer;
  }

  private async answers(): Promise<void> {
    const { child } = this;
    await waitFor(
      'the writer process to answer HTTP',
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`the writer process exited (${child.exitCode}): ${this.stderr}`);
        }
        return (await fetch(`${this.url}/health`)).status > 0;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /** SIGKILL: no LeaveGroup, no last commit, no shutdown hook. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

describe('two writer replicas in one consumer group', () => {
  const group = `rescind-rebalance-${randomBytes(4).toString('hex')}`;
  let topics: TestTopics;
  let inputs: Record<Source, string>;
  let schema: TestSchema;
  let db: Client;
  let producer: Producer;
  let admin: Admin;
  const running: RunningWriter[] = [];
  let killable: WriterProcess | null = null;
  let slowPg: TcpProxy;

  const replicaEnv = (clientId: string): Record<string, string> => ({
    ...topics.writerEnv,
    KAFKA_CLIENT_ID: clientId,
    KAFKA_INGEST_SOURCES: 'hr,idp,siem',
    KAFKA_INGEST_GROUP_ID: group,
    KAFKA_INGEST_MAX_WAIT_MS: '50',
    KAFKA_INGEST_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  });

  const startInProcess = async (clientId: string): Promise<RunningWriter> => {
    const writer = await startWriter(schema, sharedBrokers(), replicaEnv(clientId));
    running.push(writer);
    return writer;
  };

  /** Partitions per replica (by client id) once the group is stable; null while rebalancing. */
  async function assignment(): Promise<Map<string, string[]> | null> {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0]!;
    if (g.state !== 'Stable') {
      return null;
    }
    const byClient = new Map<string, string[]>();
    for (const member of g.members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      const partitions = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, ps]) =>
        ps.map((p) => `${topic}/${p}`),
      );
      byClient.set(member.clientId.replace(/-ingest$/, ''), partitions);
    }
    return byClient;
  }

  /** Waits until the stable group is exactly `clients`, each with partitions, all assigned. */
  async function groupIs(clients: string[]): Promise<Map<string, string[]>> {
    return waitFor(
      `the group to be ${clients.join(' + ')}`,
      async () => {
        const a = await assignment();
        if (!a || [...a.keys()].sort().join() !== [...clients].sort().join()) {
          return null;
        }
        const all = [...a.values()].flat();
        return all.length === SOURCES.length * PARTITIONS &&
          [...a.values()].every((ps) => ps.length > 0)
          ? a
          : null;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /** Committed offset per `topic/partition` (0 before any commit). */
  async function committedOffsets(): Promise<Map<string, bigint>> {
    const result = await admin.fetchOffsets({ groupId: group, topics: Object.values(inputs) });
    return new Map(
      result.flatMap(({ topic, partitions }) =>
        partitions.map((p) => [
          `${topic}/${p.partition}`,
          BigInt(p.offset === '-1' ? 0 : p.offset),
        ]),
      ),
    );
  }

  async function endOffsets(): Promise<Map<string, bigint>> {
    const entries = await Promise.all(
      Object.values(inputs).map(async (topic) =>
        (await admin.fetchTopicOffsets(topic)).map(
          (p) => [`${topic}/${p.partition}`, BigInt(p.high)] as const,
        ),
      ),
    );
    return new Map(entries.flat());
  }

  /** Waits until a replica has committed beyond `since` on one of its own partitions. */
  async function commitsOn(partitions: string[], since: Map<string, bigint>): Promise<void> {
    await waitFor(
      'the replica to commit on its partitions',
      async () => {
        const now = await committedOffsets();
        return partitions.some((p) => (now.get(p) ?? 0n) > (since.get(p) ?? 0n));
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  const processedCount = async (): Promise<number> =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM processed_event')).rows[0]!.n);

  async function ingested(url: string, outcome: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('rescind_events_ingested') && l.includes(`outcome="${outcome}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  beforeAll(async () => {
    topics = await createTestTopics('rebalance', { partitions: PARTITIONS });
    inputs = {
      hr: topics.names.hrEvents,
      idp: topics.names.idpEvents,
      siem: topics.names.siemEvents,
    };
    schema = await createTestSchema('rebalance');
    slowPg = await TcpProxy.start('127.0.0.1', Number(new URL(schema.url).port || 5432));
    db = await connectToSchema(schema);
    const kafka = new Kafka({
      brokers: sharedBrokers(),
      clientId: 'test-load',
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer();
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await killable?.kill();
    for (const writer of running) {
      await writer.stop();
    }
    await admin?.disconnect();
    await producer?.disconnect();
    await db?.end();
    await slowPg?.stop();
    await schema?.drop();
  });

  it('a replica joining, one leaving cleanly and one SIGKILLed mid-stream lose and duplicate nothing (promises 1 and 2)', async () => {
    const load = new SteadyLoad(producer, inputs);
    let duplicatesSeen = 0;

    // Replica A alone, under load.
    const a = await startInProcess('replica-a');
    load.start();
    await groupIs(['replica-a']);
    await waitFor('replica A to process events', async () => (await processedCount()) >= 30);

    // Replica B joins: a process of its own, to be killed later, whose PostgreSQL is behind a
    // proxy so that it can be made slow (then it is always in the middle of a transaction).
    const url = new URL(schema.url);
    url.port = String(slowPg.port);
    killable = await WriterProcess.start({
      ...replicaEnv('replica-b'),
      DATABASE_URL: url.toString(),
      DATABASE_SCHEMA: schema.schema,
      DATABASE_POOL_SIZE: '5',
      KAFKA_BROKERS: sharedBrokers().join(','),
      LOG_LEVEL: 'error',
    });
    const withB = await groupIs(['replica-a', 'replica-b']);
    await commitsOn(withB.get('replica-b')!, await committedOffsets());

    // Replica C joins; A leaves cleanly, while events keep coming.
    const c = await startInProcess('replica-c');
    await groupIs(['replica-a', 'replica-b', 'replica-c']);
    duplicatesSeen += await ingested(a.url, 'duplicate');
    await a.stop();
    running.splice(running.indexOf(a), 1);
    const withoutA = await groupIs(['replica-b', 'replica-c']);

    // B is killed in the middle of its work: slowed down, it has transactions open on several
    // partitions at every instant; it has just committed on one of them.
    slowPg.delay(40);
    await commitsOn(withoutA.get('replica-b')!, await committedOffsets());
    const producedAtKill = load.count;
    await killable.kill();
    // The broker notices after the session timeout and hands B's partitions to C.
    await groupIs(['replica-c']);
    await waitFor(
      'C to process events produced after the kill',
      async () => (await processedCount()) >= producedAtKill + 30,
      { timeoutMs: 60_000 },
    );

    await load.stop();
    expect(load.failure).toBeNull();
    const total = load.count;
    const ends = await endOffsets();
    await waitFor(
      'every offset to be committed',
      async () => {
        const committed = await committedOffsets();
        return [...ends].every(([p, end]) => committed.get(p) === end);
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    duplicatesSeen += await ingested(c.url, 'duplicate');
    // A committed offset comes only after its record's transaction (or dead letter): with every
    // offset committed, every event must be in PostgreSQL now, without waiting any further.

    // Exactly the events produced, each once: none lost, none extra.
    const { rows } = await db.query<{ source: Source; event_id: string }>(
      'SELECT source, event_id FROM processed_event ORDER BY source, event_id',
    );
    const expected = SOURCES.flatMap((s) => load.produced.get(s)!.map((id) => `${s}:${id}`)).sort();
    expect(rows.map((r) => `${r.source}:${r.event_id}`).sort()).toEqual(expected);
    // Each took effect once: one rule, one audit record and one outbox message per event.
    const counts = (
      await db.query<{ rules: string; audit: string; outbox: string; subjects: string }>(
        `SELECT (SELECT count(*) FROM revocation_rule) AS rules,
                (SELECT count(DISTINCT value) FROM revocation_rule) AS subjects,
                (SELECT count(*) FROM audit_log) AS audit,
                (SELECT count(*) FROM outbox) AS outbox`,
      )
    ).rows[0]!;
    expect(counts).toEqual({
      rules: String(total),
      subjects: String(total),
      audit: String(total),
      outbox: String(total),
    });
    // Nothing was dead-lettered: a shutdown or a rebalance is not a poison message.
    const [dlq] = await admin.fetchTopicOffsets(topics.names.deadLetter);
    expect(dlq!.high).toBe('0');

    process.stdout.write(
      `ingest rebalance: ${total} events over 3 replicas (join, clean leave, SIGKILL); ` +
        `${duplicatesSeen} redeliveries absorbed by idempotency (in-process replicas); ` +
        `0 lost, 0 applied twice\n`,
    );
  }, 240_000);
});
