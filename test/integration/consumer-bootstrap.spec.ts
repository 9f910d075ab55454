import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { Kafka, logLevel } from 'kafkajs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

const terminate = (writer: RunningWriter, id: string, subject: string) =>
  postHrEvent(writer, {
    id,
    type: 'employee.terminated',
    occurredAt: new Date().toISOString(),
    subject,
  });

describe('revocation consumer: snapshot bootstrap and freshness', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let readerToken: string;
  const consumers: RevocationConsumer[] = [];

  const consumer = (
    options: Partial<Parameters<typeof createRevocationConsumer>[0]> = {},
  ): RevocationConsumer => {
    const c = createRevocationConsumer({
      brokers: broker.brokers,
      maxWaitTimeMs: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxStalenessMs: 1500,
      ...options,
    });
    consumers.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startOwnBroker(3);
    schema = await createTestSchema('bootstrap');
    writer = await startWriter(schema, broker.brokers, { HEARTBEAT_INTERVAL_MS: '200' });
    readerToken = (
      await writer.app.get(CredentialsRepository).createCredential('gateway', 'reader')
    ).token;
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
  });

  it('consumes nothing once stopped, even when stop() comes while start() is still bootstrapping', async () => {
    // Found when writers closing in tests left their deny-list mirror heartbeating: stop() during
    // the bootstrap (no snapshot: the topic's ends were being fetched) did not keep the stream
    // from starting afterwards.
    const c = createRevocationConsumer({
      brokers: broker.brokers,
      groupIdPrefix: 'bootstrap-stop-early',
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    });
    const started = c.start();
    await c.stop();
    await expect(started).rejects.toMatchObject({ code: 'consumer_stopped' });
    const admin = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      // Long enough for a stream that started anyway to have joined its group.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const { groups } = await admin.describeGroups([c.groupId]);
      expect(groups[0]!.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('streams the snapshot as NDJSON with a watermark header, to readers only', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await terminate(writer, `snap-${i}`, `snap-user-${i}`)).status).toBe(202);
    }
    const response = await fetch(`${writer.url}/v1/deny-list/snapshot`, {
      headers: { authorization: `Bearer ${readerToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      v: 1,
      type: 'snapshot',
      watermark: Number(response.headers.get('rescind-snapshot-watermark')),
    });
    const rules = lines.slice(1, -1);
    expect(rules.map((l) => (l.rule as { value: string }).value)).toEqual(
      expect.arrayContaining(['snap-user-0', 'snap-user-1', 'snap-user-2']),
    );
    expect(lines[lines.length - 1]).toEqual({ v: 1, type: 'snapshot.end', rules: rules.length });
    expect((await fetch(`${writer.url}/v1/deny-list/snapshot`)).status).toBe(401);
  });

  it('does not miss a revocation committed after the snapshot was taken and before consuming began', async () => {
    // A snapshot endpoint that is slow in the worst way: it takes the snapshot, then a
    // revocation commits, then it answers with the (now stale) snapshot.
    const proxy: Server = createServer((request, response) => {
      void (async () => {
        const upstream = await fetch(`${writer.url}${request.url}`, {
          headers: { authorization: request.headers.authorization ?? '' },
        });
        const body = await upstream.text();
        expect((await terminate(writer, 'during-bootstrap', 'late-user')).status).toBe(202);
        response.writeHead(upstream.status, { 'content-type': 'application/x-ndjson' });
        response.end(body);
      })();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as { port: number }).port;
      const c = consumer({
        snapshot: { url: `http://127.0.0.1:${port}/v1/deny-list/snapshot`, token: readerToken },
      });
      await c.start();
      await c.ready();
      expect(c.check({ sub: 'snap-user-1', iat: 0 }).revoked).toBe(true); // from the snapshot
      await waitFor(
        'the revocation committed during bootstrap',
        () => c.check({ sub: 'late-user', iat: 0 }).revoked,
      );
    } finally {
      proxy.close();
    }
  });

  it('keeps trying while the writer is unreachable, denying meanwhile, and bootstraps by itself', async () => {
    const { hostname, port } = new URL(writer.url);
    const proxy = await TcpProxy.start(hostname, Number(port));
    try {
      proxy.cut();
      const c = consumer({
        snapshot: {
          url: `http://127.0.0.1:${proxy.port}/v1/deny-list/snapshot`,
          token: readerToken,
          timeoutMs: 1000,
        },
      });
      const started = c.start();
      await waitFor('a failed bootstrap attempt', () => c.status().lastError !== null);
      expect(c.check({ sub: 'anyone', iat: 0 })).toMatchObject({
        allowed: false,
        reason: 'not-ready',
      });
      proxy.restore();
      await started;
      await c.ready();
      expect(c.check({ sub: 'snap-user-2', iat: 0 }).revoked).toBe(true);
    } finally {
      await proxy.stop();
    }

    // stop() ends a bootstrap that is still waiting: start() and ready() give up.
    const waiting = consumer({
      snapshot: { url: 'http://127.0.0.1:9/v1/deny-list/snapshot', token: readerToken },
    });
    const started = waiting.start();
    const ready = waiting.ready();
    await waitFor('a failed attempt', () => waiting.status().lastError !== null);
    await waiting.stop();
    await expect(started).rejects.toThrow(/stopped before it was ready/);
    await expect(ready).rejects.toThrow(/stopped before it was ready/);
    await expect(waiting.start()).rejects.toThrow(/cannot be started again: create a new one/);
  });

  it('trusts no snapshot cut short: it keeps nothing of it and loads a whole one', async () => {
    // First answer: the real header and a rule no writer has, then the stream ends without its
    // end line. Second answer: the writer's own snapshot.
    let requests = 0;
    const server: Server = createServer((request, response) => {
      requests += 1;
      void (async () => {
        const upstream = await fetch(`${writer.url}${request.url}`, {
          headers: { authorization: request.headers.authorization ?? '' },
        });
        const body = await upstream.text();
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        if (requests > 1) {
          response.end(body);
          return;
        }
        const ghost = {
          v: 1,
          type: 'rule.set',
          key: 'sub::ghost-user',
          seq: 1_000_000,
          revocationId: '00000000-0000-4000-8000-00000000dead',
          committedAt: Date.now(),
          rule: {
            claim: 'sub',
            value: 'ghost-user',
            iss: null,
            revokedBefore: null,
            expiresAt: null,
          },
        };
        response.end(`${body.split('\n')[0]}\n${JSON.stringify(ghost)}\n`);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const c = consumer({
        snapshot: { url: `http://127.0.0.1:${port}/v1/deny-list/snapshot`, token: readerToken },
      });
      await c.start();
      await c.ready();
      expect(requests).toBe(2);
      expect(c.status().lastError).toMatch(/cut short after 1 rules: no end line/);
      expect(c.check({ sub: 'ghost-user', iat: 0 }).revoked).toBe(false);
      expect(c.check({ sub: 'snap-user-2', iat: 0 }).revoked).toBe(true);
    } finally {
      server.close();
    }
  });

  it('is not ready, and fail-closed denies, until it has loaded and caught up', async () => {
    const c = consumer();
    expect(c.check({ sub: 'anyone', iat: 0 })).toEqual({
      allowed: false,
      revoked: false,
      reason: 'not-ready',
    });
    await c.start();
    await c.ready();
    await waitFor('fresh', () => !c.status().stale);
    expect(c.check({ sub: 'anyone', iat: 0 })).toEqual({
      allowed: true,
      revoked: false,
      reason: 'allowed',
    });
    expect(c.check({ sub: 'snap-user-0', iat: 0 })).toMatchObject({
      allowed: false,
      reason: 'revoked',
    });
  });

  it('turns stale when heartbeats stop, applies its policy, and recovers by itself', async () => {
    const closed = consumer();
    const open = consumer({ stalenessPolicy: 'fail-open' });
    const keepLast = consumer({ stalenessPolicy: 'keep-last' });
    for (const c of [closed, open, keepLast]) {
      await c.start();
      await c.ready();
      await waitFor('fresh', () => !c.status().stale);
    }
    const staleEvents: unknown[] = [];
    closed.on('stale', (e) => staleEvents.push(e));

    await broker.down();
    try {
      await waitFor(
        'the consumers to notice',
        () => [closed, open, keepLast].every((c) => c.status().stale),
        {
          timeoutMs: 10_000,
        },
      );
      expect(staleEvents).toHaveLength(1);
      expect(closed.check({ sub: 'anyone', iat: 0 })).toEqual({
        allowed: false,
        revoked: false,
        reason: 'stale',
      });
      expect(open.check({ sub: 'anyone', iat: 0 })).toEqual({
        allowed: true,
        revoked: false,
        reason: 'stale-allowed',
      });
      expect(keepLast.check({ sub: 'anyone', iat: 0 })).toMatchObject({
        allowed: true,
        reason: 'stale-allowed',
      });
      // A revoked token stays denied under every policy.
      for (const c of [closed, open, keepLast]) {
        expect(c.check({ sub: 'snap-user-0', iat: 0 })).toMatchObject({
          allowed: false,
          reason: 'revoked',
        });
      }
      expect(open.status().decisions['stale-allowed']).toBe(1);
    } finally {
      await broker.up();
    }
    await waitFor('fresh again', () => [closed, open, keepLast].every((c) => !c.status().stale), {
      timeoutMs: 45_000,
    });
    const status = closed.status();
    expect(status.partitions).toHaveLength(3);
    expect(
      status.partitions.every((p) => p.heartbeatAgeMs !== null && p.heartbeatAgeMs < 1500),
    ).toBe(true);
    expect(status.writerSeq).toBeGreaterThanOrEqual(status.lastSeq);
  });

  it('restarts from its saved list while the writer is unreachable, prefers a fresh snapshot, and ignores a corrupt file', async () => {
    const persistPath = path.join(
      await mkdtemp(path.join(tmpdir(), 'rescind-ep-')),
      'deny-list.jsonl',
    );
    const first = consumer({ persistPath, persistIntervalMs: 100 });
    expect(first.status().persistence).toEqual({
      path: persistPath,
      lastSavedAt: null,
      lastSavedRules: null,
      lastError: null,
    });
    await first.start();
    await first.ready();
    // Saved periodically once caught up, and the status says so.
    await waitFor(
      'a periodic save',
      () => (first.status().persistence?.lastSavedAt ?? null) !== null,
    );
    expect(first.status().persistence?.lastSavedRules).toBeGreaterThanOrEqual(3);
    const posted = await terminate(writer, 'persist-1', 'persisted-user');
    expect(posted.status).toBe(202);
    const persisted = (await posted.json()) as { revocationId: string };
    await waitFor('the rule applied', () => first.check({ sub: 'persisted-user', iat: 0 }).revoked);
    await first.stop(); // saves on stop
    expect(consumer({}).status().persistence).toBeNull();

    // A header line, one line per rule version, an end line with the count and checksum.
    const lines = (await readFile(persistPath, 'utf8')).trimEnd().split('\n');
    const end = JSON.parse(lines[lines.length - 1]!) as { end: boolean; rules: number };
    expect(end).toMatchObject({ end: true, rules: lines.length - 2 });
    expect(end.rules).toBeGreaterThanOrEqual(4);
    expect(lines.some((line) => line.includes('"persisted-user"'))).toBe(true);

    // The writer's snapshot endpoint is down: the saved list carries the enforcement point.
    const restarted = consumer({
      persistPath,
      snapshot: {
        url: 'http://127.0.0.1:9/v1/deny-list/snapshot',
        token: readerToken,
        timeoutMs: 1000,
      },
    });
    await restarted.start();
    await restarted.ready();
    expect(restarted.check({ sub: 'persisted-user', iat: 0 }).revoked).toBe(true);
    expect(restarted.check({ sub: 'snap-user-2', iat: 0 }).revoked).toBe(true);

    // Reinstated while the enforcement point is down: the snapshot, not the saved list, decides.
    await restarted.stop();
    const admin = (await writer.app.get(CredentialsRepository).createCredential('ops', 'admin'))
      .token;
    const reinstated = await fetch(
      `${writer.url}/v1/revocations/${persisted.revocationId}/reinstate`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'terminated by mistake' }),
      },
    );
    expect(reinstated.status).toBe(200);
    const withSnapshot = consumer({
      persistPath,
      snapshot: { url: `${writer.url}/v1/deny-list/snapshot`, token: readerToken },
    });
    await withSnapshot.start();
    await withSnapshot.ready();
    expect(withSnapshot.check({ sub: 'persisted-user', iat: 0 }).revoked).toBe(false);
    expect(withSnapshot.check({ sub: 'snap-user-2', iat: 0 }).revoked).toBe(true);
    await withSnapshot.stop(); // saves the list without the reinstated rule

    await writeFile(
      persistPath,
      (await readFile(persistPath, 'utf8')).replace('snap-user-2', 'someone-else'),
    );
    const warnings: string[] = [];
    const distrustful = consumer({
      persistPath,
      logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
    });
    await distrustful.start();
    await distrustful.ready();
    expect(warnings.some((w) => /checksum/.test(w))).toBe(true);
    // Rebuilt from the topic instead: the real rules, not the edited one.
    expect(distrustful.check({ sub: 'snap-user-2', iat: 0 }).revoked).toBe(true);
    expect(distrustful.check({ sub: 'someone-else', iat: 0 }).revoked).toBe(false);
    expect(distrustful.check({ sub: 'persisted-user', iat: 0 }).revoked).toBe(false);
  });
});
