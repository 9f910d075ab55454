import type { RevocationConsumer } from '@rescind/revocation-consumer';
import type { Admin, Producer } from 'kafkajs';
import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { eventCatalogue } from '../support/event-catalogue';
import { collectTopic, type ReceivedMessage, sharedBrokers, testTopics } from '../support/kafka';
import type { TcpProxy } from '../../tools/net/tcp-proxy';
import { sampleValue } from '../support/prometheus';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const GROUP = 'rescind-writer-kafka-test';
const topics = testTopics('kafkain', { partitions: 2 });
const Topics = topics.names;

describe('Kafka input topics', () => {
  let env: WriterEnvironment;
  let proxy: TcpProxy;
  let writer: RunningWriter;
  let db: Client;
  let consumer: RevocationConsumer;
  let producer: Producer;
  let admin: Admin;
  let dlq: { messages: ReceivedMessage[]; stop(): Promise<void> };

  const startTheWriter = (group = GROUP): Promise<RunningWriter> =>
    env.startWriter({ KAFKA_INGEST_GROUP_ID: group });

  beforeAll(async () => {
    env = await startWriterEnvironment('kafkain', {
      topics,
      postgresProxy: true,
      producer: true,
      admin: true,
      consumer: true,
      config: {
        KAFKA_INGEST_SOURCES: 'hr,idp,siem',
        KAFKA_INGEST_GROUP_ID: GROUP,
        KAFKA_INGEST_MAX_WAIT_MS: '50',
      },
    });
    ({ postgresProxy: proxy, writer, db, producer, admin, consumer } = env);
    dlq = env.adopt(await collectTopic(sharedBrokers(), Topics.deadLetter));
  });

  afterAll(() => env?.close());

  const topicOf = { hr: Topics.hrEvents, idp: Topics.idpEvents, siem: Topics.siemEvents };
  const headers = { 'content-type': 'application/json', 'rescind-schema-version': 'v1' };

  async function committed(topic: string, groupId = GROUP): Promise<bigint> {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets!.partitions.reduce(
      (sum, p) => sum + (p.offset === '-1' ? 0n : BigInt(p.offset)),
      0n,
    );
  }

  it.each(eventCatalogue('kafka', 'kafka').map((e) => [e.source, e.event.type, e] as const))(
    '%s %s reaches the deny-list as the right rule',
    async (source, _type, entry) => {
      await producer.send({
        topic: topicOf[source],
        messages: [{ key: String(entry.event.id), value: JSON.stringify(entry.event), headers }],
      });
      const decision = await waitFor('the rule at the consumer', () => {
        const d = consumer.check(entry.token);
        return d.revoked ? d : undefined;
      });
      expect(decision.rule).toMatchObject(entry.rule);
    },
  );

  it('dead-letters every kind of poison message with its reason, and processes what follows', async () => {
    const at = new Date().toISOString();
    const good = (id: string, subject: string) =>
      JSON.stringify({ id, type: 'employee.terminated', occurredAt: at, subject });
    await producer.send({
      topic: Topics.hrEvents,
      messages: [{ key: 'p-0', value: good('poison-dup', 'dup-original'), headers, partition: 0 }],
    });
    const poison = [
      { value: '{"id": "p-1", "type": ', headers, reason: 'malformed_json' },
      {
        value: JSON.stringify({ id: 'p-2', type: 'employee.terminated', occurredAt: at }),
        headers,
        reason: 'invalid_event',
      },
      {
        value: JSON.stringify({ id: 'p-3', type: 'employee.hired', occurredAt: at, subject: 'x' }),
        headers,
        reason: 'invalid_event',
      },
      {
        value: good('p-4', 'v2-user'),
        headers: { ...headers, 'rescind-schema-version': 'v2' },
        reason: 'unsupported_schema_version',
      },
      { value: good('poison-dup', 'dup-changed'), headers, reason: 'idempotency_conflict' },
    ];
    await producer.send({
      topic: Topics.hrEvents,
      messages: [
        ...poison.map((p, i) => ({
          key: `p-${i + 1}`,
          value: p.value,
          headers: p.headers,
          partition: 0,
        })),
        { key: 'p-6', value: good('p-6', 'after-the-poison'), headers, partition: 0 },
      ],
    });

    await waitFor(
      'the message after the poison to be processed',
      () => consumer.check({ sub: 'after-the-poison', iat: 0 }).revoked,
    );
    const letters = await waitFor('five dead letters', () =>
      dlq.messages.length >= 5 ? dlq.messages : undefined,
    );
    expect(letters.map((m) => m.headers['rescind-dlq-reason'])).toEqual(
      poison.map((p) => p.reason),
    );
    for (const [i, letter] of letters.entries()) {
      expect(letter.headers['rescind-dlq-source-topic']).toBe(Topics.hrEvents);
      expect(letter.headers['rescind-dlq-source-partition']).toBe('0');
      expect(letter.headers['rescind-dlq-source-offset']).toMatch(/^\d+$/);
      expect(letter.headers['rescind-dlq-detail']).toBeTruthy();
      expect(letter.key).toBe(`p-${i + 1}`);
    }
    // Not JSON: which bytes, never the bytes (any of them may be a raw token). JSON without a
    // credential: as produced.
    expect(letters[0]!.value).toEqual({
      redacted: true,
      reason: 'not_json',
      sha256: createHash('sha256').update(poison[0]!.value).digest('hex'),
      bytes: Buffer.byteLength(poison[0]!.value),
    });
    expect(letters[1]!.value).toEqual(JSON.parse(poison[1]!.value));
    expect(consumer.check({ sub: 'dup-changed', iat: 0 }).revoked).toBe(false);
    expect(consumer.check({ sub: 'v2-user', iat: 0 }).revoked).toBe(false);

    // Counted for the on-call by input topic and reason, once each letter is durable.
    const metrics = await (await fetch(`${writer.url}/metrics`)).text();
    const counted = (reason: string) =>
      sampleValue(metrics, 'rescind_dead_letters_total', { topic: Topics.hrEvents, reason });
    expect(counted('invalid_event')).toBe(2);
    expect(counted('malformed_json')).toBe(1);
    expect(counted('idempotency_conflict')).toBe(1);
  });

  it('retries while PostgreSQL is unreachable, commits the offset only after the commit, and loses nothing', async () => {
    const before = await committed(Topics.siemEvents);
    proxy.cut();
    const refusedBefore = proxy.refused;
    try {
      await producer.send({
        topic: Topics.siemEvents,
        messages: [
          {
            key: 'pg-down-1',
            value: JSON.stringify({
              id: 'pg-down-1',
              type: 'credential.compromised',
              occurredAt: new Date().toISOString(),
              severity: 'high',
              subject: 'during-the-outage',
            }),
            headers,
          },
        ],
      });
      await waitFor('the writer to try PostgreSQL twice', () => proxy.refused >= refusedBefore + 2);
      expect(await committed(Topics.siemEvents)).toBe(before);
    } finally {
      proxy.restore();
    }
    await waitFor(
      'the event to be processed after PostgreSQL is back',
      () => consumer.check({ sub: 'during-the-outage', iat: 0 }).revoked,
    );
    await waitFor(
      'the offset to be committed',
      async () => (await committed(Topics.siemEvents)) === before + 1n,
    );
    expect(dlq.messages.some((m) => m.key === 'pg-down-1')).toBe(false);
  });

  it('treats redelivery of everything already processed as a no-op', async () => {
    const counts = async () =>
      (
        await db.query<{ rules: string; outbox: string; audit: string }>(
          `SELECT (SELECT count(*) FROM revocation_rule) AS rules, (SELECT count(*) FROM outbox) AS outbox,
                  (SELECT count(*) FROM audit_log) AS audit`,
        )
      ).rows[0];
    const before = await counts();
    const ends = new Map<string, bigint>();
    for (const topic of [Topics.hrEvents, Topics.idpEvents, Topics.siemEvents]) {
      ends.set(topic, await committed(topic));
    }

    // As if the writer had died after its commits but before committing any offset: a writer
    // in a fresh consumer group receives every message again.
    await writer.stop();
    const lettersBefore = dlq.messages.length;
    writer = await startTheWriter(`${GROUP}-replay`);

    for (const [topic, end] of ends) {
      await waitFor(
        `${topic} to be consumed again`,
        async () => (await committed(topic, `${GROUP}-replay`)) === end,
        { timeoutMs: 30_000 },
      );
    }
    expect(await counts()).toEqual(before);
    // Poison stays poison: dead-lettered again, never processed.
    await waitFor(
      'the poison to be dead-lettered again',
      () => dlq.messages.length >= lettersBefore + 5,
    );
  });
});
