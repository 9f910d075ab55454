import { randomUUID } from 'node:crypto';
import { collectTopic, type ReceivedMessage, sharedBrokers, testTopics } from '../support/kafka';
import { startTestConsumer } from '../support/consumer';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';
const headers = { 'content-type': 'application/json', 'rescind-schema-version': 'v1' };

/** Committed write transactions so far, and the events they held, from the writer's metrics. */
async function transactions(writer: RunningWriter): Promise<{ count: number; events: number }> {
  const text = await (await fetch(`${writer.url}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    count: value('rescind_write_transaction_events_count'),
    events: value('rescind_write_transaction_events_sum'),
  };
}

const termination = (id: string, subject: string) => ({
  id,
  type: 'employee.terminated',
  occurredAt: new Date().toISOString(),
  subject,
  iss: ISS,
});

/**
 * The write path shares transactions (group commit for HTTP, one per fetched run for Kafka)
 * without sharing fates: each event gets its own answer, a poison event fails alone, order per
 * partition holds, and nothing is acknowledged before its commit.
 */
describe('shared write transactions', () => {
  const topics = testTopics('batching', { partitions: 1 });
  let env: WriterEnvironment;
  let dlq: { messages: ReceivedMessage[]; stop(): Promise<void> };

  beforeAll(async () => {
    env = await startWriterEnvironment('batching', {
      topics,
      writer: false,
      postgresProxy: true,
      producer: true,
      admin: true,
    });
    dlq = env.adopt(await collectTopic(sharedBrokers(), topics.names.deadLetter));
  });

  afterAll(() => env?.close());

  it('records a fetched run of an input topic in one transaction, in order, dead-lettering only its poison records', async () => {
    const run = randomUUID().slice(0, 8);
    const id = (n: string) => `batch-${run}-${n}`;
    const alice = `alice-${run}`;
    const bob = `bob-${run}`;
    const bulk = Array.from({ length: 40 }, (_, i) => `carol-${run}-${i}`);
    const value = (event: unknown) => JSON.stringify(event);
    const first = termination(id('1'), alice);
    // Produced before the writer consumes, in one send to one partition: one fetch.
    await env.producer.send({
      topic: topics.names.hrEvents,
      messages: [
        { key: alice, value: value(first), headers },
        // The same id with another body: refused (409 over HTTP), dead-lettered alone.
        { key: alice, value: value({ ...first, subject: `mallory-${run}` }), headers },
        // The same event again: a duplicate, applied once, nothing dead-lettered.
        { key: alice, value: value(first), headers },
        { key: bob, value: value(termination(id('2'), bob)), headers },
        // After the termination in the same run: the rehire must win (order per partition).
        {
          key: alice,
          value: value({ ...termination(id('3'), alice), type: 'employee.rehired' }),
          headers,
        },
        { key: 'garbage', value: '{"id": ', headers },
        ...bulk.map((subject, i) => ({
          key: subject,
          value: value(termination(id(`c${i}`), subject)),
          headers,
        })),
      ],
    });
    const writer = await env.startWriter({
      KAFKA_INGEST_SOURCES: 'hr',
      KAFKA_INGEST_GROUP_ID: `batching-${run}`,
    });
    const consumer = env.adopt(
      await startTestConsumer(sharedBrokers(), { topic: topics.names.invalidations }),
    );
    const letters = await waitFor('both dead letters', () => {
      const mine = dlq.messages.filter((m) => m.key === alice || m.key === 'garbage');
      return mine.length >= 2 ? mine : undefined;
    });
    expect(letters.map((m) => m.headers['rescind-dlq-reason']).sort()).toEqual([
      'idempotency_conflict',
      'malformed_json',
    ]);
    await waitFor('every rule at the enforcement point', () =>
      bulk.every((subject) => consumer.check({ sub: subject, iss: ISS, iat: 0 }).revoked),
    );
    expect(consumer.check({ sub: bob, iss: ISS, iat: 0 }).revoked).toBe(true);
    // Terminated, then rehired in the same transaction: lifted, in that order.
    const { rows } = await env.db.query<{ status: string; seq: string }>(
      `SELECT status, seq FROM revocation_rule WHERE value = $1`,
      [alice],
    );
    expect(rows).toEqual([expect.objectContaining({ status: 'reinstated' })]);
    const { rows: history } = await env.db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE rule_key LIKE $1 ORDER BY id`,
      [`%${alice}`],
    );
    expect(history.map((h) => h.action)).toEqual(['rule.set', 'rule.reinstated']);
    const { rows: events } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM processed_event WHERE event_id LIKE $1`,
      [`batch-${run}-%`],
    );
    expect(events[0]!.n).toBe(3 + bulk.length);
    // Fewer transactions than records: they were shared (a run may come in a few fetches).
    const shared = await transactions(writer);
    expect(shared.events).toBe(4 + bulk.length);
    expect(shared.count).toBeLessThan(10);
    // And the offset is past the last record, committed after the commit.
    await waitFor('the committed offset', async () => {
      const [offsets] = await env.admin.fetchOffsets({
        groupId: `batching-${run}`,
        topics: [topics.names.hrEvents],
      });
      const committed = offsets!.partitions.reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      const latest = await env.admin.fetchTopicOffsets(topics.names.hrEvents);
      return committed === latest.reduce((sum, p) => sum + Number(p.high), 0);
    });
    await writer.stop();
  });

  it('gives each of many concurrent HTTP events its own answer from shared commits', async () => {
    const writer = await env.startWriter();
    const run = randomUUID().slice(0, 8);
    const before = await transactions(writer);
    const events = Array.from({ length: 60 }, (_, i) =>
      termination(`http-${run}-${i}`, `dave-${run}-${i}`),
    );
    const conflicting = { ...events[7]!, subject: `eve-${run}` };
    const answers = await Promise.all(
      [...events, events[3]!, conflicting].map(async (event) => {
        const response = await postHrEvent(writer, event);
        return {
          status: response.status,
          body: (await response.json()) as Record<string, unknown>,
        };
      }),
    );
    const byStatus = (status: number) => answers.filter((a) => a.status === status);
    expect(byStatus(202)).toHaveLength(61);
    expect(byStatus(409)).toHaveLength(1);
    expect(byStatus(409)[0]!.body).toMatchObject({ code: 'idempotency_conflict' });
    // The repeated event: one of its two answers says duplicate, with the same rule.
    const third = answers.filter((_answer, i) => i === 3 || i === 60);
    expect(third.map((a) => a.body.duplicate).sort()).toEqual([false, true]);
    expect(third[0]!.body.revocationId).toBe(third[1]!.body.revocationId);
    // Each answer names its own rule.
    const ids = new Set(answers.slice(0, 60).map((a) => a.body.revocationId));
    expect(ids.size).toBe(60);
    const after = await transactions(writer);
    expect(after.events - before.events).toBeGreaterThanOrEqual(60);
    expect(after.count - before.count).toBeLessThan(60);
    await writer.stop();
  });

  it('answers 503 to every request of a shared commit that failed, and acknowledges nothing', async () => {
    const writer = await env.startWriter();
    const run = randomUUID().slice(0, 8);
    const events = Array.from({ length: 20 }, (_, i) =>
      termination(`cut-${run}-${i}`, `frank-${run}-${i}`),
    );
    env.postgresProxy.cut();
    try {
      const answers = await Promise.all(
        events.map(async (event) => {
          const response = await postHrEvent(writer, event);
          return { status: response.status, type: response.headers.get('content-type') };
        }),
      );
      expect(answers.every((a) => a.status === 503)).toBe(true);
      expect(answers[0]!.type).toMatch(/application\/problem\+json/);
    } finally {
      env.postgresProxy.restore();
    }
    const { rows } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM processed_event WHERE event_id LIKE $1`,
      [`cut-${run}-%`],
    );
    expect(rows[0]!.n).toBe(0);
    // Sent again once PostgreSQL is back: recorded, as new events (nothing was half-stored).
    await waitFor('PostgreSQL through the proxy again', async () => {
      const response = await postHrEvent(writer, events[0]!);
      return response.status === 202;
    });
    const again = await Promise.all(events.slice(1).map((e) => postHrEvent(writer, e)));
    expect(again.map((r) => r.status)).toEqual(events.slice(1).map(() => 202));
    await writer.stop();
  });
});
