import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ruleKey } from '@rescind/contracts';
import {
  createRevocationConsumer,
  type RevocationConsumer,
  type RevocationConsumerOptions,
} from '@rescind/revocation-consumer';
import { Kafka, logLevel } from 'kafkajs';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { startUntilReady } from '../support/consumer';
import { sharedBrokers, testTopics } from '../support/kafka';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter, termination } from '../support/writer';

const ISS = 'https://idp.unreadable.test';
/** A rule the writer stores but no consumer can read: its claim name breaks the contract. */
const UNREADABLE = { claim: 'Device-ID', value: 'dev-1' };
const UNREADABLE_KEY = ruleKey(UNREADABLE);

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const claims = (sub: string) => ({ sub, iss: ISS, iat: 0 });

/**
 * docs/design.md promise 5 (bad input never takes the service down) for enforcement points: a rule
 * line of the snapshot or a message of the topic that the consumer cannot read is skipped,
 * counted, reported and alerted on, and never keeps the consumer from being ready (under
 * fail-closed that would deny all traffic). It never drops a revocation either: an older
 * readable version of the key stays enforced.
 */
describe('revocation consumer: a rule it cannot read', () => {
  const topics = testTopics('unreadable');
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  let readerToken: string;
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const running = new Set<RevocationConsumer>();
  let warnings: string[] = [];

  const consumer = (options: Partial<RevocationConsumerOptions> = {}): RevocationConsumer => {
    const c = createRevocationConsumer({
      brokers: sharedBrokers(),
      topic: topics.names.invalidations,
      // NDJSON: these rules are stored by hand in PostgreSQL, which only the NDJSON snapshot reads
      // (the binary one is the writer's mirror of the topic).
      snapshot: {
        url: `${writer.url}/v1/deny-list/snapshot`,
        token: readerToken,
        format: 'ndjson',
      },
      maxWaitTimeMs: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxStalenessMs: 1500,
      logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
      ...options,
    });
    running.add(c);
    return c;
  };
  const stop = async (c: RevocationConsumer): Promise<void> => {
    running.delete(c);
    await c.stop();
  };

  const terminate = async (subject: string): Promise<void> => {
    const response = await postHrEvent(writer, termination(`term-${subject}`, subject, ISS));
    expect(response.status).toBe(202);
  };

  /** The consumer's counter as Prometheus scrapes it, per source. */
  const scraped = async (): Promise<Record<string, number>> => {
    const { resourceMetrics } = await exporter.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    const samples = text.matchAll(
      /^rescind_consumer_unreadable_rules_total\{[^}]*source="(\w+)"[^}]*\} (\d+)$/gm,
    );
    return Object.fromEntries([...samples].map((m) => [m[1]!, Number(m[2])]));
  };

  const produce = async (messages: Array<{ key: Buffer | string; value: Buffer | string }>) => {
    const producer = new Kafka({
      brokers: sharedBrokers(),
      clientId: 'unreadable-test',
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      await producer.send({ topic: topics.names.invalidations, messages });
    } finally {
      await producer.disconnect();
    }
  };

  beforeAll(async () => {
    // Before any consumer exists: the consumer takes its meter when it is created.
    metrics.setGlobalMeterProvider(meterProvider);
    await topics.create();
    schema = await createTestSchema('unreadable');
    writer = await startWriter(schema, sharedBrokers(), {
      ...topics.writerEnv,
      HEARTBEAT_INTERVAL_MS: '200',
    });
    db = await connectToSchema(schema);
    readerToken = (
      await writer.app.get(CredentialsRepository).createCredential('unreadable-gateway', 'reader')
    ).token;
    await terminate('alice');
    await terminate('bob');
    // Straight into the writer's table, as a row of an older or newer writer could be: the
    // snapshot serves it, and no consumer can read it.
    await db.query(
      `INSERT INTO revocation_rule (rule_key, claim, value, iss, revoked_before, expires_at, seq, source, reason)
       VALUES ($1, $2, $3, NULL, now(), NULL, nextval('rule_seq'), 'test', 'unreadable by consumers')`,
      [UNREADABLE_KEY, UNREADABLE.claim, UNREADABLE.value],
    );
  });

  beforeEach(() => {
    warnings = [];
  });

  afterAll(async () => {
    await Promise.all([...running].map((c) => c.stop()));
    await db?.end();
    await writer?.stop();
    await schema?.drop();
    metrics.disable();
    await meterProvider.shutdown();
  });

  it('becomes ready despite an unreadable snapshot line, enforces every other rule and counts it', async () => {
    const c = consumer();
    await startUntilReady(c);
    expect(c.check(claims('alice'))).toMatchObject({ allowed: false, reason: 'revoked' });
    expect(c.check(claims('bob'))).toMatchObject({ allowed: false, reason: 'revoked' });
    await waitFor('fresh', () => !c.status().stale);
    expect(c.check(claims('carol'))).toMatchObject({ allowed: true, reason: 'allowed' });

    expect(c.status().unreadableRules).toEqual({
      count: 1,
      bySource: { snapshot: 1, stream: 0 },
      last: {
        at: expect.any(Number) as number,
        source: 'snapshot',
        location: expect.stringMatching(/^snapshot line \d+$/) as string,
        reason: expect.stringMatching(/^rule\.claim: /) as string,
        key: UNREADABLE_KEY,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
        keptSeq: null,
      },
    });
    expect(warnings).toContainEqual(
      expect.stringContaining(`skipped unreadable rule at snapshot line`) as string,
    );
    expect(warnings.join('\n')).toContain(`key ${JSON.stringify(UNREADABLE_KEY)}`);
    expect(await scraped()).toEqual({ snapshot: 1, stream: 0 });
    await stop(c);
  });

  it('skips and counts unreadable messages on the stream, and keeps enforcing the older version of their key', async () => {
    const c = consumer();
    await startUntilReady(c);
    const held = c.check(claims('alice'));
    if (held.reason !== 'revoked') {
      throw new Error(`alice should be revoked, got ${held.reason}`);
    }

    // Not JSON, under a key that is not text: identified by its fingerprint only.
    const garbage = Buffer.from('\u0000 not json at all');
    await produce([{ key: Buffer.from([0xff, 0xfe, 0x01]), value: garbage }]);
    await waitFor('the garbage to be counted', () => c.status().unreadableRules.bySource.stream);
    expect(c.status().unreadableRules.last).toMatchObject({
      source: 'stream',
      location: expect.stringMatching(new RegExp(`^${topics.names.invalidations}/\\d+@\\d+$`)),
      reason: 'not JSON',
      key: null,
      sha256: sha256(garbage),
      keptSeq: null,
    });

    // A newer version of alice's rule in a shape this consumer cannot read (a cutoff as text).
    const update = JSON.stringify({
      v: 1,
      type: 'rule.set',
      key: held.rule.key,
      seq: held.rule.seq + 1000,
      revocationId: randomUUID(),
      committedAt: Date.now(),
      rule: {
        claim: 'sub',
        value: 'alice',
        iss: ISS,
        revokedBefore: '2030-01-01',
        expiresAt: null,
      },
    });
    await produce([{ key: held.rule.key, value: update }]);
    await waitFor(
      'the update to be counted',
      () => c.status().unreadableRules.bySource.stream === 2,
    );
    expect(c.status().unreadableRules.last).toMatchObject({
      source: 'stream',
      reason: expect.stringMatching(/^rule\.revokedBefore: /) as string,
      key: held.rule.key,
      sha256: sha256(update),
      keptSeq: held.rule.seq,
    });
    expect(c.check(claims('alice'))).toMatchObject({
      reason: 'revoked',
      rule: { seq: held.rule.seq },
    });
    expect(warnings.join('\n')).toContain(
      `kept the older version of its key (seq ${held.rule.seq})`,
    );
    expect(warnings.join('\n')).not.toContain('not json at all');

    // The stream goes on.
    await terminate('dave');
    await waitFor('dave to be revoked', () => c.check(claims('dave')).revoked);
    expect(c.status().unreadableRules.bySource).toEqual({ snapshot: 1, stream: 2 });
    expect(await scraped()).toEqual({ snapshot: 1, stream: 2 });
    await stop(c);
  });

  it('a consumer that starts later reads past the unreadable messages on the topic and becomes ready', async () => {
    const c = consumer({ snapshot: undefined });
    await startUntilReady(c);
    expect(c.status().unreadableRules.bySource).toEqual({ snapshot: 0, stream: 2 });
    expect(c.check(claims('bob'))).toMatchObject({ reason: 'revoked' });
    expect(c.check(claims('dave'))).toMatchObject({ reason: 'revoked' });
    await stop(c);
  });

  it('restarting from its saved list, keeps the saved version of a rule whose snapshot line it cannot read', async () => {
    const persistPath = path.join(
      await mkdtemp(path.join(tmpdir(), 'rescind-unreadable-')),
      'list',
    );
    await terminate('erin');
    const first = consumer({ persistPath });
    await startUntilReady(first);
    const saved = first.check(claims('erin'));
    expect(saved.reason).toBe('revoked');
    await stop(first); // saves the list
    expect(first.status().persistence?.lastSavedAt).not.toBeNull();

    // A newer version of erin's rule that no consumer can read.
    await db.query(
      `UPDATE revocation_rule SET claim = 'Sub-V2', seq = nextval('rule_seq') WHERE rule_key = $1`,
      [ruleKey({ claim: 'sub', value: 'erin', iss: ISS })],
    );
    const second = consumer({ persistPath });
    await startUntilReady(second);
    expect(second.status().unreadableRules).toMatchObject({
      bySource: { snapshot: 2, stream: 0 },
      last: {
        source: 'snapshot',
        key: ruleKey({ claim: 'sub', value: 'erin', iss: ISS }),
        keptSeq: saved.revoked ? saved.rule.seq : -1,
      },
    });
    expect(second.check(claims('erin'))).toMatchObject({ reason: 'revoked' });
    expect(second.check(claims('bob'))).toMatchObject({ reason: 'revoked' });
    await stop(second);
  });
});
