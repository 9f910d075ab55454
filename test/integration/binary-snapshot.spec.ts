import { randomUUID } from 'node:crypto';
import {
  BINARY_SNAPSHOT_TYPE,
  BinarySnapshotMetaSchema,
  createRevocationConsumer,
} from '@rescind/revocation-consumer';
import { DenyList } from '@rescind/rules';
import { startUntilReady } from '../support/consumer';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, termination } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';

/**
 * The binary snapshot: served from the writer's deny-list mirror (not a PostgreSQL scan), the
 * same bytes for every enforcement point until it is refreshed, with the topic offsets it stands
 * at, so an enforcement point reads on from there.
 */
describe('binary deny-list snapshot', () => {
  const topics = testTopics('binsnap');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let reader: string;
  const subjects = Array.from({ length: 120 }, (_, i) => `bin-${randomUUID()}-${i}`);

  beforeAll(async () => {
    env = await startWriterEnvironment('binsnap', {
      topics,
      consumer: true,
      config: { SNAPSHOT_MAX_AGE_MS: '200' },
    });
    writer = env.writer;
    reader = await env.token('gateway', 'reader');
    for (const [i, subject] of subjects.entries()) {
      const response = await postHrEvent(writer, termination(`bin-${i}-${subject}`, subject, ISS));
      if (response.status !== 202) {
        throw new Error(`fixture: the termination of ${subject} answered ${response.status}`);
      }
    }
    await waitFor('every rule at the enforcement point', () =>
      subjects.every((sub) => env.consumer.check({ sub, iss: ISS, iat: 0 }).revoked),
    );
  });

  afterAll(() => env?.close());

  const snapshot = (accept: string, token = reader, headers: Record<string, string> = {}) =>
    fetch(`${writer.url}/v1/deny-list/snapshot`, {
      headers: { authorization: `Bearer ${token}`, accept, ...headers },
    });

  it('serves the binary format when asked, with every rule and the offsets it stands at', async () => {
    const response = await waitFor('the mirror to be caught up', async () => {
      const r = await snapshot(BINARY_SNAPSHOT_TYPE);
      if (r.headers.get('content-type') === BINARY_SNAPSHOT_TYPE) {
        return r;
      }
      await r.arrayBuffer();
      return undefined;
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const { list, meta } = DenyList.fromSnapshot(bytes);
    const parsed = BinarySnapshotMetaSchema.parse(meta);
    expect(parsed.topic).toBe(topics.names.invalidations);
    expect(Object.keys(parsed.offsets).length).toBeGreaterThan(0);
    await waitFor('a snapshot holding every rule', async () => {
      const fresh = DenyList.fromSnapshot(
        new Uint8Array(await (await snapshot(BINARY_SNAPSHOT_TYPE)).arrayBuffer()),
      ).list;
      return subjects.every((sub) => fresh.check({ sub, iss: ISS, iat: 0 }).revoked);
    });
    expect(list.size).toBeGreaterThan(0);
    // About the size the list holds in memory, far from NDJSON's ~330 bytes per rule.
    const ndjson = await (await snapshot('application/x-ndjson')).text();
    expect(bytes.length).toBeLessThan(ndjson.length / 2);
  });

  it('answers the same bytes to every request until it is refreshed, with an ETag', async () => {
    const first = await snapshot(BINARY_SNAPSHOT_TYPE);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    await first.arrayBuffer();
    const again = await snapshot(BINARY_SNAPSHOT_TYPE, reader, { 'if-none-match': etag! });
    // Within SNAPSHOT_MAX_AGE_MS the same snapshot: not modified. Later a new one may come.
    expect([304, 200]).toContain(again.status);
    await again.arrayBuffer();
  });

  it('serves NDJSON to a client that asks for it, and to a reader bound to one issuer', async () => {
    const plain = await snapshot('application/x-ndjson');
    expect(plain.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    await plain.text();
    const bound = await env.token('issuer-gateway', 'reader', ISS);
    const scoped = await snapshot(`${BINARY_SNAPSHOT_TYPE}, application/x-ndjson;q=0.5`, bound);
    expect(scoped.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    await scoped.text();
  });

  it('bootstraps an enforcement point from it, which reads on from the offsets inside it', async () => {
    // A writer whose snapshot stays the same for a minute: a rule written after it was encoded
    // is on the topic before the enforcement point pins its ends, so only the snapshot's own
    // offsets lead to it.
    const held = await env.startWriter({ SNAPSHOT_MAX_AGE_MS: '60000' });
    const binary = () =>
      fetch(`${held.url}/v1/deny-list/snapshot`, {
        headers: { authorization: `Bearer ${reader}`, accept: BINARY_SNAPSHOT_TYPE },
      });
    await waitFor('the mirror to serve binary snapshots', async () => {
      const r = await binary();
      await r.arrayBuffer();
      return r.headers.get('content-type') === BINARY_SNAPSHOT_TYPE;
    });
    const later = `bin-later-${randomUUID()}`;
    expect((await postHrEvent(held, termination(`later-${later}`, later, ISS))).status).toBe(202);
    await waitFor(
      'the later rule on the topic',
      () => env.consumer.check({ sub: later, iss: ISS, iat: 0 }).revoked,
    );
    const cached = DenyList.fromSnapshot(new Uint8Array(await (await binary()).arrayBuffer()));
    expect(cached.list.check({ sub: later, iss: ISS, iat: 0 }).revoked).toBe(false);

    const logs: string[] = [];
    const consumer = createRevocationConsumer({
      brokers: env.brokers,
      topic: topics.names.invalidations,
      snapshot: { url: `${held.url}/v1/deny-list/snapshot`, token: reader },
      maxWaitTimeMs: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    });
    try {
      await startUntilReady(consumer);
      expect(logs.some((m) => m.includes('from the binary snapshot'))).toBe(true);
      expect(subjects.every((sub) => consumer.check({ sub, iss: ISS, iat: 0 }).revoked)).toBe(true);
      // Ready means caught up: the rule the snapshot lacked was read from its offsets on.
      expect(consumer.check({ sub: later, iss: ISS, iat: 0 }).revoked).toBe(true);
    } finally {
      await consumer.stop();
      await held.stop();
    }
  });
});
