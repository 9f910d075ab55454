import { heartbeatKey, HeartbeatV1Schema, ruleKey } from '@rescind/contracts';
import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { startTestConsumer } from '../support/consumer';
import { sharedBrokers, testTopics, type TestTopics } from '../support/kafka';
import { call } from '../support/operator';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { type RunningWriter, startWriter } from '../support/writer';

/** One record as a plain client reads it: key, value (null for a tombstone), partition. */
interface StoredRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Record<string, unknown> | null;
}

/**
 * Reads a topic from its beginning up to its end as it is now, as a consumer bootstrapping from
 * it would see it: after compaction, superseded records are no longer there.
 */
async function readAll(brokers: string[], topic: string): Promise<StoredRecord[]> {
  const kafka = new Kafka({ brokers, clientId: 'test-read-all', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const remaining = new Set(ends.filter((e) => e.high !== e.low).map((e) => e.partition));
  const records: StoredRecord[] = [];
  if (remaining.size === 0) {
    return records;
  }
  const consumer = kafka.consumer({
    groupId: `test-read-all-${randomUUID()}`,
    maxWaitTimeInMs: 50,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value:
            message.value === null
              ? null
              : (JSON.parse(message.value.toString()) as Record<string, unknown>),
        });
        const high = BigInt(ends.find((e) => e.partition === partition)!.high);
        if (BigInt(message.offset) >= high - 1n) {
          remaining.delete(partition);
          if (remaining.size === 0) {
            done();
          }
        }
        return Promise.resolve();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/**
 * The invalidation topic on Apache Kafka: compacted, every record keyed (heartbeats included),
 * pruned rules as tombstones, and a consumer that bootstraps from the compacted topic alone gets
 * the right deny-list.
 */
describe('invalidation topic (Apache Kafka, compacted)', () => {
  const brokers = sharedBrokers();
  let topics: TestTopics;
  let schema: TestSchema;
  let writer: RunningWriter;
  let admin: string;
  const consumers: RevocationConsumer[] = [];

  beforeAll(async () => {
    topics = testTopics('itopic', {
      partitions: 2,
      // Small segments and an eager cleaner, so compaction happens within seconds (the launcher
      // sets log.cleaner.backoff.ms=1000); heartbeats every 100 ms keep the segments rolling.
      overrides: {
        invalidations: {
          'segment.ms': '100',
          'segment.bytes': String(1024 * 1024),
          'min.cleanable.dirty.ratio': '0.01',
          'min.compaction.lag.ms': '0',
          'delete.retention.ms': '100',
        },
      },
    });
    await topics.create(brokers);
    schema = await createTestSchema('itopic');
    writer = await startWriter(schema, brokers, {
      ...topics.writerEnv,
      HEARTBEAT_INTERVAL_MS: '100',
      PRUNE_INTERVAL_SECONDS: '1',
      // Rules with a cutoff expire one minute after it: the test watches one being pruned.
      MAX_TOKEN_LIFETIME_SECONDS: '60',
    });
    admin = (await writer.app.get(CredentialsRepository).createCredential('itopic-admin', 'admin'))
      .token;
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await writer?.stop();
    await schema?.drop();
  });

  const consumer = async (options: Parameters<typeof startTestConsumer>[1] = {}) => {
    const c = await startTestConsumer(brokers, { topic: topics.names.invalidations, ...options });
    consumers.push(c);
    return c;
  };

  const revoke = async (sub: string, revokedBefore: number | null) => {
    const response = await call<{ rules: Array<{ id: string; seq: number }> }>(
      writer,
      'POST',
      '/v1/revocations',
      {
        token: admin,
        body: {
          rules: [
            {
              claim: 'sub',
              value: sub,
              revokedBefore: revokedBefore === null ? null : new Date(revokedBefore).toISOString(),
            },
          ],
          reason: 'invalidation topic test',
        },
      },
    );
    expect(response.status).toBe(201);
    return response.body.rules[0]!;
  };

  it('refuses a keyless record: Kafka does not store them on a compacted topic (apache/kafka#5638)', async () => {
    const producer = new Kafka({
      brokers,
      clientId: 'test-keyless',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await expect(
        producer.send({ topic: topics.names.invalidations, messages: [{ value: '{}' }] }),
      ).rejects.toThrow(/corrupt|validation/i);
      await producer.send({
        topic: topics.names.invalidations,
        messages: [{ key: 'test:keyed', value: '{}' }],
      });
    } finally {
      await producer.disconnect();
    }
  });

  it('stores a heartbeat keyed heartbeat:<partition> on every partition, and consumers read them back', async () => {
    const heartbeats = await waitFor('a heartbeat on each partition', async () => {
      const found = (await readAll(brokers, topics.names.invalidations)).filter(
        (r) => r.key?.startsWith('heartbeat:') && r.value?.type === 'heartbeat',
      );
      const partitions = new Set(found.map((r) => r.partition));
      return partitions.size === 2 ? found : undefined;
    });
    for (const record of heartbeats) {
      expect(record.key).toBe(heartbeatKey(record.partition));
      const heartbeat = HeartbeatV1Schema.parse(record.value);
      expect(heartbeat.publishedThrough).toBeLessThanOrEqual(heartbeat.at);
    }
    const c = await consumer();
    await waitFor('the enforcement point to have a heartbeat on every partition', () =>
      c.status().partitions.every((p) => p.heartbeatSeq !== null),
    );
  });

  it('writes a pruned rule as a tombstone; after compaction a consumer bootstrapping from the topic alone gets exactly the live rules', async () => {
    // Holds versions as they come and never prunes by itself: what it drops, a tombstone dropped.
    const live = await consumer({ pruneIntervalMs: 3_600_000 });
    const now = Date.now();
    // Superseded versions: raised twice, the last one revokes every token of the user.
    await revoke('raised', now - 30_000);
    await revoke('raised', now - 20_000);
    const raised = await revoke('raised', null);
    // Reinstated: stays a rule.removed value (with its seq), never a tombstone.
    const reinstated = await revoke('reinstated', null);
    expect(
      (
        await call(writer, 'POST', `/v1/revocations/${reinstated.id}/reinstate`, {
          token: admin,
          body: { reason: 'over-broad' },
        })
      ).status,
    ).toBe(200);
    await revoke('kept', null);
    // Expires one minute after its cutoff, a few seconds from now; raised once before.
    await revoke('expiring', now - 58_000);
    await revoke('expiring', now - 57_000);

    const expiringKey = ruleKey({ claim: 'sub', value: 'expiring' });
    await waitFor(
      'the live consumer to drop the expiring rule on its tombstone',
      () => live.status().tombstones.removed >= 1,
    );
    expect(live.check({ sub: 'expiring', iat: now / 1000 - 3600 }).reason).not.toBe('revoked');

    const raisedKey = ruleKey({ claim: 'sub', value: 'raised' });
    const stored = await waitFor(
      'compaction: one record left of the raised rule, no value left of the pruned one',
      async () => {
        const records = await readAll(brokers, topics.names.invalidations);
        const ofRaised = records.filter((r) => r.key === raisedKey);
        const ofExpiring = records.filter((r) => r.key === expiringKey);
        return ofRaised.length === 1 && ofExpiring.every((r) => r.value === null)
          ? records
          : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    expect(stored.find((r) => r.key === raisedKey)!.value).toMatchObject({
      type: 'rule.set',
      seq: raised.seq,
    });
    expect(
      stored.find((r) => r.key === ruleKey({ claim: 'sub', value: 'reinstated' }))?.value,
    ).toMatchObject({ type: 'rule.removed' });
    // Every record has a key.
    expect(stored.filter((r) => r.key === null)).toEqual([]);

    const fresh = await consumer();
    const iat = Date.now() / 1000 - 1;
    expect(fresh.status().rules).toBe(2);
    expect(fresh.check({ sub: 'raised', iat }).reason).toBe('revoked');
    expect(fresh.check({ sub: 'kept', iat }).reason).toBe('revoked');
    expect(fresh.check({ sub: 'reinstated', iat }).reason).not.toBe('revoked');
    expect(fresh.check({ sub: 'expiring', iat: now / 1000 - 3600 }).reason).not.toBe('revoked');
    expect(fresh.status().lastSeq).toBeGreaterThanOrEqual(raised.seq);
  });

  it('ignores (and counts) a tombstone for a version that has not expired by the consumer clock', async () => {
    const c = await consumer({ pruneIntervalMs: 3_600_000 });
    const iat = Date.now() / 1000 - 1;
    await waitFor('the kept rule', () => c.check({ sub: 'kept', iat }).reason === 'revoked');
    const producer = new Kafka({
      brokers,
      clientId: 'test-tombstone',
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topics.names.invalidations,
        messages: [{ key: ruleKey({ claim: 'sub', value: 'kept' }), value: null }],
      });
    } finally {
      await producer.disconnect();
    }
    await waitFor(
      'the tombstone to be counted as ignored',
      () => c.status().tombstones.ignored === 1,
    );
    expect(c.check({ sub: 'kept', iat }).reason).toBe('revoked');
    expect(c.status().tombstones.removed).toBe(0);
  });
});
