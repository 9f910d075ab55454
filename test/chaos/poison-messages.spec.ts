import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { startTestConsumer } from '../support/consumer';
import { type EnforcementPoint, inProcess } from '../support/chaos/enforcement';
import { expectNoViolation } from '../support/chaos/expect-verdict';
import { KafkaLoad, type LoadRecord, revocation, type Source } from '../support/chaos/load';
import { acknowledgedMore, ChaosRun, stopChaos } from '../support/chaos/run';
import { collectTopic, type ReceivedMessage, testTopics } from '../support/kafka';
import { connectToSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.chaos.example';
const topics = testTopics('chaos_poison', { partitions: 3 });
const inputTopics: Record<Source, string> = {
  hr: topics.names.hrEvents,
  idp: topics.names.idpEvents,
  siem: topics.names.siemEvents,
};
const SOURCES: Source[] = ['hr', 'idp', 'siem'];
const HEADERS = { 'content-type': 'application/json', 'rescind-schema-version': 'v1' };

jest.setTimeout(120_000);

interface Poison {
  name: string;
  reason: string;
  value: string;
  headers?: Record<string, string>;
}

/** Every kind of message that can never be processed, for `source`'s topic; ids from `tag`. */
function poisonFor(source: Source, tag: string, conflictingWith: string): Poison[] {
  const at = new Date().toISOString();
  const valid = (id: string, value: string) =>
    JSON.parse(revocation(source, id, value, ISS).body) as Record<string, unknown>;
  return [
    { name: 'not JSON', reason: 'malformed_json', value: `{"id": "${tag}-nj", "type": ` },
    {
      name: 'schema violation',
      reason: 'invalid_event',
      value: JSON.stringify({ id: `${tag}-sv`, type: 'no.such.event', occurredAt: at }),
    },
    {
      name: 'unknown schema version',
      reason: 'unsupported_schema_version',
      value: JSON.stringify(valid(`${tag}-v2`, `${tag}-v2-value`)),
      headers: { ...HEADERS, 'rescind-schema-version': 'v2' },
    },
    {
      // Half a megabyte: far over every field's limit, well within the topic's message size.
      name: 'oversize value',
      reason: 'invalid_event',
      value: JSON.stringify(valid(`${tag}-big`, 'x'.repeat(512 * 1024))),
    },
    {
      // Within the issuer's own length limit, but its rule key would exceed 2,048 characters.
      name: 'oversize rule key',
      reason: 'invalid_event',
      value: JSON.stringify({
        ...valid(`${tag}-key`, `${tag}-key-value`),
        iss: `https://idp.example/${'語'.repeat(300)}`,
      }),
    },
    {
      name: 'conflicting duplicate',
      reason: 'idempotency_conflict',
      value: JSON.stringify(valid(conflictingWith, `${tag}-other-value`)),
    },
  ];
}

/**
 * Promise 5 on the Kafka input topics: poison and oversize messages interleaved with valid ones,
 * on every input topic, under a steady load of valid events. Every valid event is applied
 * everywhere (the oracle), every poison message is on the dead-letter topic with its reason and
 * where it came from, none of them changes anything, and the partitions move on.
 */
describe('chaos: poison messages on every input topic', () => {
  let env: WriterEnvironment;
  let watcherDb: Client;
  let deadLetters: { messages: ReceivedMessage[]; stop(): Promise<void> };
  let eps: EnforcementPoint[] = [];

  beforeAll(async () => {
    env = await startWriterEnvironment('chaos_poison', {
      topics,
      producer: true,
      config: {
        HEARTBEAT_INTERVAL_MS: '250',
        KAFKA_INGEST_SOURCES: 'hr,idp,siem',
        KAFKA_INGEST_GROUP_ID: `chaos-poison-${randomBytes(4).toString('hex')}`,
        KAFKA_INGEST_MAX_WAIT_MS: '50',
      },
    });
    watcherDb = await connectToSchema(env.schema);
    deadLetters = env.adopt(await collectTopic(env.brokers, topics.names.deadLetter));
    for (const name of ['a', 'b']) {
      const consumer: RevocationConsumer = await startTestConsumer(env.brokers, {
        topic: topics.names.invalidations,
        groupIdPrefix: `chaos-poison-${name}`,
        maxStalenessMs: 2000,
      });
      env.adopt(consumer);
      eps.push(inProcess(name, consumer));
    }
  });

  afterEach(stopChaos);

  afterAll(async () => {
    eps = [];
    await watcherDb?.end();
    await env?.close();
  });

  it('dead-letters every poison message with its reason and applies every valid one: nothing lost, duplicated or wrongly allowed', async () => {
    const load = new KafkaLoad({
      producer: env.producer,
      topics: inputTopics,
      prefix: 'poison-load',
      iss: ISS,
      ratePerSecond: 60,
    }).start();
    const interleaved: LoadRecord = { sent: [], acks: [], outcomes: new Map() };
    const run = new ChaosRun('poison messages', env.db, [load, interleaved], eps, watcherDb);
    const expected: Array<{ topic: string; key: string; reason: string; name: string }> = [];
    for (const source of SOURCES) {
      // One partition per topic: valid, poison, valid, poison, ... in one ordered batch.
      const first = revocation(source, `poison-${source}-valid-0`, `poison-${source}-v0`, ISS);
      const poisons = poisonFor(source, `poison-${source}`, first.eventId);
      const valid = [
        first,
        ...poisons.map((_, i) =>
          revocation(source, `poison-${source}-valid-${i + 1}`, `poison-${source}-v${i + 1}`, ISS),
        ),
      ];
      const messages = valid.flatMap((v, i) => {
        const p = poisons[i];
        return [
          { key: v.eventId, value: v.body, headers: HEADERS, partition: 0 },
          ...(p
            ? [
                {
                  key: `${source}-${p.name}`,
                  value: p.value,
                  headers: p.headers ?? HEADERS,
                  partition: 0,
                },
              ]
            : []),
        ];
      });
      await env.producer.send({ topic: inputTopics[source], acks: -1, messages });
      const ackedAt = Date.now();
      interleaved.sent.push(...valid);
      interleaved.acks.push(
        ...valid.map((v) => ({
          source,
          eventId: v.eventId,
          key: v.key,
          via: 'kafka' as const,
          ackedAt,
        })),
      );
      expected.push(
        ...poisons.map((p) => ({
          topic: inputTopics[source],
          key: `${source}-${p.name}`,
          reason: p.reason,
          name: p.name,
        })),
      );
    }
    const letters = await waitFor('every poison message on the dead-letter topic', () =>
      deadLetters.messages.length >= expected.length ? deadLetters.messages : undefined,
    );
    await acknowledgedMore(load, 60); // and the steady load goes on being applied after them
    await load.stop();

    const verdict = await run.finish(eps);
    const byKey = (l: { key: string | null }) => l.key ?? '';
    expect(
      letters
        .map((l) => ({
          topic: l.headers['rescind-dlq-source-topic'],
          key: l.key,
          reason: l.headers['rescind-dlq-reason'],
        }))
        .sort((a, b) => byKey(a).localeCompare(byKey(b))),
    ).toEqual(
      expected
        .map(({ topic, key, reason }) => ({ topic, key, reason }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    );
    for (const letter of letters) {
      expect(letter.headers['rescind-dlq-detail']).toBeTruthy();
      expect(letter.headers['rescind-dlq-source-offset']).toMatch(/^\d+$/);
    }
    // None of them changed anything: no event id of theirs was recorded.
    const { rows } = await env.db.query<{ event_id: string }>(
      `SELECT event_id FROM processed_event
        WHERE event_id ~ '-(nj|sv|v2|big|key)$' AND event_id LIKE 'poison-%'`,
    );
    expect(rows).toEqual([]);
    expectNoViolation(verdict);
  });
});
