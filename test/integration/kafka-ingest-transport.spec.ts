import { type Admin, type IHeaders, Kafka, logLevel, type Producer } from 'kafkajs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { KafkaIngestServer } from '../../apps/revocation-writer/src/ingest/kafka-ingest.server';
import { WriterMetrics } from '../../apps/revocation-writer/src/metrics/writer-metrics';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { createTestTopics, sharedBrokers, type TestTopics } from '../support/kafka';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { type RunningWriter, startWriter } from '../support/writer';

/**
 * The traps of the stock Nest Kafka transport, each shown not to apply to the writer's input
 * topics (docs/adr/0001-kafka-ingest-transport.md). One writer, its consumer group, its topics.
 */

interface RawRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

const headers = { 'content-type': 'application/json', 'rescind-schema-version': 'v1' };
/** Failed attempts the outage test waits for: many, where a bug is dead-lettered at the first. */
const MANY_ATTEMPTS = 6;

describe(KafkaIngestServer.name, () => {
  const group = `rescind-transport-${randomBytes(4).toString('hex')}`;
  let topics: TestTopics;
  let schema: TestSchema;
  let pgProxy: TcpProxy;
  let kafkaProxy: TcpProxy;
  let writer: RunningWriter;
  let db: Client;
  let kafka: Kafka;
  let producer: Producer;
  let admin: Admin;
  let dlq: { records: RawRecord[]; stop(): Promise<void> };
  let kafkaRefusedAtStart = 0;

  const startTheWriter = (): Promise<RunningWriter> => {
    const url = new URL(schema.url);
    url.port = String(pgProxy.port);
    // Bootstrap goes through kafkaProxy: cut, the writer cannot reach Kafka at all.
    return startWriter({ ...schema, url: url.toString() }, [`127.0.0.1:${kafkaProxy.port}`], {
      ...topics.writerEnv,
      KAFKA_INGEST_SOURCES: 'hr,idp,siem',
      KAFKA_INGEST_GROUP_ID: group,
      KAFKA_INGEST_MAX_WAIT_MS: '50',
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      // A global HTTP guard that saw Kafka records would refuse all but the first.
      RATE_LIMIT_PER_IP_PER_MINUTE: '1',
      RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '1',
    });
  };

  async function readRaw(topic: string): Promise<{ records: RawRecord[]; stop(): Promise<void> }> {
    const consumer = kafka.consumer({
      groupId: `test-raw-${randomUUID()}`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 50,
    });
    const records: RawRecord[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        records.push({
          partition,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        });
        return Promise.resolve();
      },
    });
    return { records, stop: () => consumer.disconnect() };
  }

  const event = (id: string, subject: string) =>
    JSON.stringify({
      id,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject,
    });

  async function processed(ids: string[]): Promise<string[]> {
    const { rows } = await db.query<{ event_id: string }>(
      'SELECT event_id FROM processed_event WHERE event_id = ANY($1) ORDER BY event_id',
      [ids],
    );
    return rows.map((r) => r.event_id);
  }

  /** Committed offset of `group` on one partition (-1 before any commit). */
  async function committed(topic: string, partition: number, groupId = group): Promise<bigint> {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return BigInt(offsets!.partitions.find((p) => p.partition === partition)!.offset);
  }

  async function endOffset(topic: string, partition: number): Promise<bigint> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return BigInt(offsets.find((p) => p.partition === partition)!.high);
  }

  /**
   * Attempts the writer counted for a source and outcome (its Prometheus exposition, read
   * in-process: GET /metrics is rate-limited like every route, and the limit here is 1/min).
   */
  async function attempts(source: string, outcome: string): Promise<number> {
    const text = await writer.app.get(WriterMetrics).scrape();
    for (const line of text.split('\n')) {
      const match = /^rescind_events_ingested(?:_total)?\{([^}]*)\} (\d+)/.exec(line);
      if (
        match &&
        match[1]!.includes(`source="${source}"`) &&
        match[1]!.includes(`outcome="${outcome}"`)
      ) {
        return Number(match[2]);
      }
    }
    return 0;
  }

  beforeAll(async () => {
    topics = await createTestTopics('transport', { partitions: 2 });
    schema = await createTestSchema('transport');
    pgProxy = await TcpProxy.start('127.0.0.1', 5432);
    const [host, port] = sharedBrokers()[0]!.split(':');
    kafkaProxy = await TcpProxy.start(host!, Number(port));
    kafka = new Kafka({ brokers: sharedBrokers(), clientId: 'test', logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    dlq = await readRaw(topics.names.deadLetter);
    db = await connectToSchema(schema);

    kafkaProxy.cut();
    writer = await startTheWriter();
    kafkaRefusedAtStart = await waitFor('the writer to try Kafka', () => kafkaProxy.refused);
  });

  afterAll(async () => {
    await writer?.stop();
    await dlq?.stop();
    await admin?.disconnect();
    await producer?.disconnect();
    await db?.end();
    await kafkaProxy?.stop();
    await pgProxy?.stop();
    await schema?.drop();
  });

  it('starts while Kafka is unreachable, and consumes once it is back (start-up retry in the background)', async () => {
    // The writer is up and answering HTTP although it never reached Kafka.
    expect(kafkaRefusedAtStart).toBeGreaterThan(0);
    expect((await fetch(`${writer.url}/health`)).status).toBeGreaterThan(0);
    expect(await processed(['t-start'])).toEqual([]);

    await producer.send({
      topic: topics.names.hrEvents,
      messages: [{ key: 't-start', value: event('t-start', 'after-kafka-came-back'), headers }],
    });
    kafkaProxy.restore();
    await waitFor(
      'the event to be processed',
      async () => (await processed(['t-start'])).length === 1,
      { timeoutMs: 45_000 },
    );
  });

  it('joins the consumer group exactly as configured (ServerKafka would join "<group>-server")', async () => {
    const { groups } = await admin.describeGroups([group]);
    expect(groups[0]!.members.map((m) => m.clientId)).toEqual(['rescind-writer-ingest']);
    const ids = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(ids.filter((id) => id.startsWith(group))).toEqual([group]);
  });

  it('dead-letters a record of arbitrary bytes by fingerprint, never its bytes, and the partition moves on', async () => {
    // Not UTF-8 and not JSON: the stock transport's parser would have turned these into strings.
    const key = Buffer.from([0xc3, 0x28, 0x00]);
    const value = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
    const binaryHeader = Buffer.from([0x00, 0xff, 0x80]);
    const before = await endOffset(topics.names.hrEvents, 0);
    await producer.send({
      topic: topics.names.hrEvents,
      messages: [
        { key, value, headers: { ...headers, 'x-binary': binaryHeader }, partition: 0 },
        { key: 't-after', value: event('t-after', 'after-binary'), headers, partition: 0 },
      ],
    });

    await waitFor(
      'the record after the poison to be processed',
      async () => (await processed(['t-after'])).length === 1,
    );
    const letter = await waitFor('the dead letter', () =>
      dlq.records.find((r) => r.headers['rescind-dlq-source-offset']?.toString() === `${before}`),
    );
    expect(letter.headers['rescind-dlq-reason']?.toString()).toBe('malformed_json');
    expect(letter.headers['rescind-dlq-source-topic']?.toString()).toBe(topics.names.hrEvents);
    // Not JSON: nothing of it can be told apart from a raw token (promise 7), so the dead letter
    // says which bytes they were; the original stays on the input topic, at the offset above.
    const sha256 = (bytes: Buffer, encoding: 'hex' | 'base64url') =>
      createHash('sha256').update(bytes).digest(encoding);
    expect(letter.headers['rescind-dlq-value']?.toString()).toBe('fingerprint');
    expect(JSON.parse(letter.value!.toString())).toEqual({
      redacted: true,
      reason: 'not_json',
      sha256: sha256(value, 'hex'),
      bytes: value.length,
    });
    expect(letter.key!.toString()).toBe(`sha256:${sha256(key, 'base64url')}`);
    expect(letter.headers['x-binary']?.toString()).toBe(
      `sha256:${sha256(binaryHeader, 'base64url')}`,
    );
    // offset + 1 of the last record: the next one to read (the Nest docs commit `offset`).
    await waitFor(
      'the offset after both records to be committed',
      async () => (await committed(topics.names.hrEvents, 0)) === before + 2n,
    );
    expect(await endOffset(topics.names.hrEvents, 0)).toBe(before + 2n);
  });

  it('never lets a global HTTP guard see a Kafka record (rate limit 1 per minute here)', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `t-guard-${i}`);
    const letters = dlq.records.length;
    await producer.send({
      topic: topics.names.idpEvents,
      messages: ids.map((id) => ({
        key: id,
        value: JSON.stringify({
          id,
          type: 'user.disabled',
          occurredAt: new Date().toISOString(),
          subject: `${id}-user`,
        }),
        headers,
      })),
    });
    await waitFor(
      'all five to be processed',
      async () => (await processed(ids)).length === ids.length,
    );
    expect(dlq.records.length).toBe(letters);
  });

  it(`retries a PostgreSQL outage for as long as it lasts (${MANY_ATTEMPTS} attempts and more): never dead-letters it, the partition waits, nothing is committed`, async () => {
    const topic = topics.names.siemEvents;
    const before = await committed(topic, 0).then((o) => (o < 0n ? 0n : o));
    const failedBefore = await attempts('siem', 'storage_unavailable');
    const letters = dlq.records.length;
    const siem = (id: string) =>
      JSON.stringify({
        id,
        type: 'credential.compromised',
        occurredAt: new Date().toISOString(),
        severity: 'high',
        subject: `${id}-user`,
      });
    pgProxy.cut();
    try {
      await producer.send({
        topic,
        messages: [
          { key: 't-pg-1', value: siem('t-pg-1'), headers, partition: 0 },
          { key: 't-pg-2', value: siem('t-pg-2'), headers, partition: 0 },
        ],
      });
      await waitFor(
        `${MANY_ATTEMPTS} failed attempts`,
        async () => (await attempts('siem', 'storage_unavailable')) >= failedBefore + MANY_ATTEMPTS,
        { timeoutMs: 40_000, intervalMs: 100 },
      );
      expect(dlq.records.length).toBe(letters);
      expect(await committed(topic, 0).then((o) => (o < 0n ? 0n : o))).toBe(before);
    } finally {
      pgProxy.restore();
    }
    await waitFor(
      'both events to be processed after PostgreSQL is back',
      async () => (await processed(['t-pg-1', 't-pg-2'])).length === 2,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'both offsets to be committed',
      async () => (await committed(topic, 0)) === before + 2n,
    );
    expect(dlq.records.length).toBe(letters);
  }, 90_000);

  it('stops while a record is being retried without committing it; the next writer of the group processes it', async () => {
    const topic = topics.names.hrEvents;
    const before = await committed(topic, 1).then((o) => (o < 0n ? 0n : o));
    const failedBefore = await attempts('hr', 'storage_unavailable');
    pgProxy.cut();
    try {
      await producer.send({
        topic,
        messages: [{ key: 't-stop', value: event('t-stop', 'stopped-mid-retry'), partition: 1 }],
      });
      await waitFor(
        'a failed attempt',
        async () => (await attempts('hr', 'storage_unavailable')) > failedBefore,
        { intervalMs: 50 },
      );
      await writer.stop();
    } finally {
      pgProxy.restore();
    }
    expect(await committed(topic, 1).then((o) => (o < 0n ? 0n : o))).toBe(before);
    expect(await processed(['t-stop'])).toEqual([]);

    writer = await startTheWriter();
    await waitFor(
      'the next writer to process it',
      async () => (await processed(['t-stop'])).length === 1,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'its offset to be committed',
      async () => (await committed(topic, 1)) === before + 1n,
    );
    expect(dlq.records.some((r) => r.key?.toString() === 't-stop')).toBe(false);
  }, 90_000);

  it("closes promptly while Kafka is unreachable (it does not sit out kafkajs' ~20 s connection retries)", async () => {
    const unreachable = await TcpProxy.start('127.0.0.1', 1);
    unreachable.cut();
    try {
      const lonely = await startWriter(schema, [`127.0.0.1:${unreachable.port}`], {
        ...topics.writerEnv,
        KAFKA_INGEST_SOURCES: 'hr',
        KAFKA_INGEST_GROUP_ID: `${group}-lonely`,
      });
      await waitFor('the writer to try Kafka', () => unreachable.refused > 0);
      const started = Date.now();
      await lonely.stop();
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await unreachable.stop();
    }
  });
});
