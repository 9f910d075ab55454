import {
  type CheckDecision,
  createRevocationConsumer,
  type RevocationConsumer,
  type RevocationConsumerOptions,
  type StalenessPolicy,
} from '@rescind/revocation-consumer';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { OutboxRelayService } from '../../apps/revocation-writer/src/outbox/outbox-relay.service';
import type { KafkaBroker } from '../../tools/kafka/broker';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { startOwnBroker } from '../support/kafka';
import {
  connectToSchema,
  createTestSchema,
  TEST_DATABASE_URL,
  type TestSchema,
} from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

/** The staleness bound of every enforcement point here; the writer beats every 200 ms. */
const MAX_STALENESS_MS = 1500;
const POLICIES: StalenessPolicy[] = ['fail-closed', 'fail-open', 'keep-last'];

/**
 * docs/design.md promise 4: an enforcement point always knows how stale it is. Fresh means proven
 * by a heartbeat that says how far publishing has got: a stuck outbox makes it stale, a restart is
 * stale until a heartbeat arrives, and a PostgreSQL outage with nothing pending does not.
 * A broker of its own (the test cuts it off) and PostgreSQL behind a proxy (the test cuts the
 * writer off from it, without stopping the PostgreSQL everybody else uses).
 */
describe('freshness that tells the truth', () => {
  let broker: KafkaBroker;
  let postgres: TcpProxy;
  let schema: TestSchema;
  let writer: RunningWriter | null = null;
  let db: Client;
  const consumers: RevocationConsumer[] = [];

  const startOurWriter = async (): Promise<RunningWriter> => {
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${postgres.port}`;
    writer = await startWriter(schema, broker.brokers, {
      DATABASE_URL: url.toString(),
      HEARTBEAT_INTERVAL_MS: '200',
      // As in production: a relay that cannot publish backs off for up to half a minute.
      OUTBOX_MAX_BACKOFF_MS: '30000',
    });
    return writer;
  };

  beforeAll(async () => {
    broker = await startOwnBroker(2);
    const target = new URL(TEST_DATABASE_URL);
    postgres = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    schema = await createTestSchema('fresh');
    db = await connectToSchema(schema); // direct, not through the proxy
    await startOurWriter();
  });

  // Each test starts from a running writer with both PostgreSQL and Kafka reachable, whatever an
  // earlier one left behind.
  beforeEach(async () => {
    postgres.restore();
    await broker.up();
    if (writer === null) {
      await startOurWriter();
    }
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await writer?.stop();
    await db?.end();
    await schema?.drop();
    await postgres?.stop();
    await broker?.stop();
  });

  const consumer = (options: Partial<RevocationConsumerOptions> = {}): RevocationConsumer => {
    const c = createRevocationConsumer({
      brokers: broker.brokers,
      maxWaitTimeMs: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxStalenessMs: MAX_STALENESS_MS,
      ...options,
    });
    consumers.push(c);
    return c;
  };
  const started = async (options: Partial<RevocationConsumerOptions> = {}) => {
    const c = consumer(options);
    await c.start();
    await c.ready();
    return c;
  };

  const terminate = async (subject: string): Promise<number> => {
    const response = await postHrEvent(writer!, {
      id: `fresh-${subject}`,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject,
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { seq: number }).seq;
  };
  const fresh = (c: RevocationConsumer) =>
    waitFor('the enforcement point to be fresh', () => !c.status().stale, { timeoutMs: 20_000 });
  const token = (sub: string) => ({ sub, iat: Math.floor(Date.now() / 1000) - 60 });

  /**
   * `c` has read, on every partition, a heartbeat the writer sent after `instant` (a heartbeat's
   * age is never less than the time since its own `at`).
   */
  const heartbeatsAfter = (c: RevocationConsumer, instant: number) => () => {
    const now = Date.now();
    const { partitions } = c.status();
    return (
      partitions.length === 2 &&
      partitions.every((p) => p.heartbeatAgeMs !== null && now - p.heartbeatAgeMs > instant)
    );
  };

  it('is stale after a restart until a heartbeat proves freshness (no grace period; age from the heartbeat time)', async () => {
    const persistPath = path.join(await mkdtemp(path.join(tmpdir(), 'rescind-fresh-')), 'list');
    const first = await started({ persistPath });
    await terminate('saved-user');
    await waitFor('the revocation', () => first.check(token('saved-user')).reason === 'revoked');
    await fresh(first);

    // The writer goes away: the last heartbeats stay on the (compacted) topic, and age.
    await writer!.stop();
    writer = null;
    await waitFor('the running enforcement point to turn stale', () => first.status().stale, {
      timeoutMs: 10_000,
    });
    await first.stop(); // saves its list

    // Restarted from the saved list, and one bootstrapping from the topic (old heartbeats).
    const restarted = await started({ persistPath });
    const fromTopic = await started();
    for (const c of [restarted, fromTopic]) {
      expect(c.status()).toMatchObject({ ready: true, stale: true });
      expect(c.check(token('someone'))).toEqual({
        allowed: false,
        revoked: false,
        reason: 'stale',
      });
      expect(c.check(token('saved-user')).reason).toBe('revoked');
    }
    expect(fromTopic.status().stalenessMs).toBeGreaterThan(MAX_STALENESS_MS);

    await startOurWriter();
    await Promise.all([restarted.fresh(), fromTopic.fresh()]);
    expect(restarted.check(token('someone')).reason).toBe('allowed');
    expect(restarted.status().stalenessMs).toBeLessThanOrEqual(MAX_STALENESS_MS);

    // keep-last serves the last list while stale, but only once there is one; fail-open always.
    await restarted.stop(); // saves again
    // Nothing listens there: bootstrap retries for ever, and fails fast each time.
    const unreachable = { brokers: ['127.0.0.1:1'], kafka: { retry: { retries: 0 } } };
    const decisions = async (persistPath?: string) => {
      const table: Record<string, Record<'someone' | 'revokedInTheList', string>> = {};
      for (const stalenessPolicy of POLICIES) {
        const c = consumer({ ...unreachable, persistPath, stalenessPolicy });
        const starting = c.start().catch(() => undefined); // never ready: the broker is gone
        if (persistPath !== undefined) {
          await waitFor('the saved list to load', () => c.status().rules > 0);
        }
        table[stalenessPolicy] = {
          someone: c.check(token('someone')).reason,
          revokedInTheList: c.check(token('saved-user')).reason,
        };
        await c.stop();
        await starting;
      }
      return table;
    };
    expect(await decisions()).toEqual({
      'fail-closed': { someone: 'not-ready', revokedInTheList: 'not-ready' },
      'fail-open': { someone: 'stale-allowed', revokedInTheList: 'stale-allowed' },
      // No list was ever loaded: nothing "last" to keep.
      'keep-last': { someone: 'not-ready', revokedInTheList: 'not-ready' },
    });
    expect(await decisions(persistPath)).toEqual({
      'fail-closed': { someone: 'not-ready', revokedInTheList: 'revoked' },
      'fail-open': { someone: 'stale-allowed', revokedInTheList: 'revoked' },
      'keep-last': { someone: 'stale-allowed', revokedInTheList: 'revoked' }, // the saved list
    });
  });

  it('stays fresh through a PostgreSQL outage with nothing pending, and is stale when something acknowledged is pending', async () => {
    const closed = await started();
    await fresh(closed);
    const staleEvents: unknown[] = [];
    closed.on('stale', (e) => staleEvents.push(e));

    const cutAt = Date.now();
    postgres.cut();
    try {
      const ready = await fetch(`${writer!.url}/health/ready`);
      expect(ready.status).toBe(503);
      await waitFor(
        'heartbeats sent well past the staleness bound into the outage, read',
        heartbeatsAfter(closed, cutAt + 3 * MAX_STALENESS_MS),
        { timeoutMs: 15_000 },
      );
      expect(staleEvents).toEqual([]);
      expect(closed.check(token('someone')).reason).toBe('allowed');
    } finally {
      postgres.restore();
    }

    // Acknowledged while Kafka is unreachable, then PostgreSQL goes too.
    await broker.down();
    let seq: number;
    try {
      seq = await terminate('pending-user');
      postgres.cut();
    } finally {
      await broker.up();
    }
    try {
      const upAt = Date.now();
      await waitFor(
        'heartbeats again, sent well past the bound, read',
        heartbeatsAfter(closed, upAt + 2 * MAX_STALENESS_MS),
        // An upper bound, not a wait: the writer's producer reconnects through kafkajs back-off,
        // which on a loaded 2-core machine took more than 20 s once.
        { timeoutMs: 45_000 },
      );
      const { rows } = await db.query(
        `SELECT 1 FROM outbox WHERE seq = $1 AND published_at IS NULL`,
        [seq],
      );
      expect(rows).toHaveLength(1); // still pending: the relay cannot mark it without PostgreSQL
      expect(closed.status().stale).toBe(true);
      expect(closed.check(token('pending-user')).reason).toBe('stale');
    } finally {
      postgres.restore();
    }
    await waitFor(
      'the revocation to arrive',
      () => closed.check(token('pending-user')).reason === 'revoked',
      {
        timeoutMs: 20_000,
      },
    );
    await fresh(closed);
  });

  it('is stale while acknowledged revocations are unpublished, and the relay publishes as soon as Kafka answers again', async () => {
    const closed = await started();
    await fresh(closed);
    const relay = writer!.app.get(OutboxRelayService).relay;
    await waitFor('the relay to publish normally', () => relay.consecutiveFailures === 0);

    await broker.down();
    let seq: number;
    let upAt: number;
    try {
      seq = await terminate('stuck-user');
      // A long back-off (6.4 to 12.8 s) has just begun.
      await waitFor('eight failed publish attempts', () => relay.consecutiveFailures >= 8, {
        timeoutMs: 40_000,
      });
    } finally {
      upAt = Date.now();
      await broker.up();
    }

    // From now on heartbeats flow again while the revocation is still unpublished: until the
    // enforcement point has applied it, it must never let the revoked user through.
    const seen = new Set<CheckDecision['reason']>();
    let freshBeforeApplied = false;
    closed.on('fresh', () => {
      freshBeforeApplied ||= closed.check(token('stuck-user')).reason !== 'revoked';
    });
    await waitFor(
      'the revocation to be published',
      async () => {
        seen.add(closed.check(token('stuck-user')).reason);
        const { rows } = await db.query(
          `SELECT 1 FROM outbox WHERE seq = $1 AND published_at IS NOT NULL`,
          [seq],
        );
        return rows.length === 1;
      },
      { timeoutMs: 4000 },
    );
    const publishedAfterMs = Date.now() - upAt;
    await waitFor('the enforcement point to apply it', () => {
      const reason = closed.check(token('stuck-user')).reason;
      seen.add(reason);
      return reason === 'revoked';
    });
    expect(seen).not.toContain('allowed');
    expect(freshBeforeApplied).toBe(false);
    expect(publishedAfterMs).toBeLessThan(4000);
    await fresh(closed);
  });
});
