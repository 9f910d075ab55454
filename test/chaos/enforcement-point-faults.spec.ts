import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { startTestConsumer } from '../support/consumer';
import { type EnforcementPoint, inProcess } from '../support/chaos/enforcement';
import { EnforcementPointProcess } from '../support/chaos/enforcement-point-process';
import { expectNoViolation } from '../support/chaos/expect-verdict';
import { HttpLoad } from '../support/chaos/load';
import { acknowledgedMore, ChaosRun, stopChaos } from '../support/chaos/run';
import { testTopics } from '../support/kafka';
import { connectToSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.chaos.example';
const MAX_STALENESS_MS = 1500;
const topics = testTopics('chaos_ep', { partitions: 3 });

jest.setTimeout(120_000);

/**
 * Promises 3 and 4 when an enforcement point itself is hurt: paused (SIGSTOP) past its staleness
 * bound, restarted cold while the writer is down, restarted from its saved list. Two enforcement
 * points are processes of their own (so they can be stopped and killed), one is in this process;
 * the writer is in this process and is stopped and started again by the tests.
 */
describe('chaos: an enforcement point', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter | null = null;
  let watcherDb: Client;
  let saved: string;
  let listFile: string;
  let withList: EnforcementPointProcess;
  let cold: EnforcementPointProcess;
  let reference: EnforcementPoint;
  const processes = new Set<EnforcementPointProcess>();

  const startProcess = async (name: string, persist: boolean) => {
    const ep = await EnforcementPointProcess.start(name, {
      brokers: env.brokers,
      topic: topics.names.invalidations,
      maxStalenessMs: MAX_STALENESS_MS,
      ...(persist && { persistPath: listFile }),
    });
    processes.add(ep);
    return ep;
  };
  const eps = (): EnforcementPoint[] => [withList, cold, reference];

  beforeAll(async () => {
    saved = mkdtempSync(path.join(tmpdir(), 'rescind-chaos-ep-'));
    listFile = path.join(saved, 'deny-list');
    env = await startWriterEnvironment('chaos_ep', {
      topics,
      config: { HEARTBEAT_INTERVAL_MS: '250' },
    });
    writer = env.writer;
    watcherDb = await connectToSchema(env.schema);
    const consumer: RevocationConsumer = await startTestConsumer(env.brokers, {
      topic: topics.names.invalidations,
      groupIdPrefix: 'chaos-ep-reference',
      maxStalenessMs: MAX_STALENESS_MS,
    });
    env.adopt(consumer);
    reference = inProcess('in-process', consumer);
    [withList, cold] = await Promise.all([
      startProcess('with-saved-list', true),
      startProcess('cold', false),
    ]);
    await Promise.all([withList.ready(), cold.ready()]);
  });

  afterEach(stopChaos);

  afterAll(async () => {
    for (const ep of processes) {
      await ep.kill();
    }
    await watcherDb?.end();
    await env?.close();
    if (saved) {
      rmSync(saved, { recursive: true, force: true });
    }
  });

  const loadFor = (prefix: string) =>
    new HttpLoad({ url: () => writer?.url ?? null, prefix, iss: ISS, ratePerSecond: 80 }).start();

  /**
   * Stops the writer, waits until its last heartbeat is older than the staleness bound (the
   * in-process point turns stale), runs `during`, starts a writer again (heartbeats resume).
   */
  const withWriterDown = async (during: () => Promise<void>): Promise<void> => {
    await writer!.stop();
    writer = null;
    try {
      await waitFor('the last heartbeat to be older than the bound', async () => {
        return !(await reference.observe([])).fresh;
      });
      await during();
    } finally {
      writer = await env.startWriter();
    }
  };

  const outboxEmpty = () =>
    waitFor('the outbox to be published', async () => {
      const { rows } = await env.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      return rows[0]!.n === 0;
    });

  /** All acknowledged tokens at `ep` right now: fresh or not, and what check() said. */
  const decisionsAt = async (ep: EnforcementPoint, load: HttpLoad) => {
    const sent = new Map(load.sent.map((r) => [r.key, r.token]));
    const tokens = load.acks.map((a) => sent.get(a.key)!);
    const o = await ep.observe(tokens);
    return { fresh: o.fresh, ready: o.ready, reasons: new Set(o.decisions.map((d) => d.reason)) };
  };

  it('paused (SIGSTOP) past its staleness bound: nothing lost, duplicated or wrongly allowed', async () => {
    const load = loadFor('ep-pause');
    const run = new ChaosRun('enforcement point SIGSTOP', env.db, [load], eps(), watcherDb);
    await acknowledgedMore(load, 40);
    withList.pause();
    const pausedAt = Date.now();
    try {
      while (Date.now() - pausedAt < 2 * MAX_STALENESS_MS) {
        await acknowledgedMore(load, 1); // revocations it cannot see
      }
    } finally {
      withList.resume();
    }
    await acknowledgedMore(load, 40);
    await load.stop();

    const verdict = await run.finish(eps());
    expect(load.unexpected).toEqual([]);
    expectNoViolation(verdict);
  });

  it('restarted cold while the writer is down: stale and denying until heartbeats prove it fresh, then converged', async () => {
    const load = loadFor('ep-cold');
    const run = new ChaosRun(
      'enforcement point restarted cold, writer down',
      env.db,
      [load],
      eps(),
      watcherDb,
    );
    await acknowledgedMore(load, 80);
    await load.stop();
    await outboxEmpty(); // everything acknowledged is on the topic before the writer goes

    await withWriterDown(async () => {
      await run.sampler.unwatch(cold);
      await cold.kill();
      cold = await startProcess('cold-again', false);
      run.sampler.watch(cold);
      await cold.ready();
      // Caught up with the topic, but only the dead writer's old heartbeats are there: stale, and
      // fail-closed denies every token (revoked ones as revoked, the list holds them).
      const now = await decisionsAt(cold, load);
      expect(now).toEqual({ fresh: false, ready: true, reasons: new Set(['revoked']) });
      const someone = await cold.observe([{ sub: 'never-revoked', iss: ISS, iat: 1 }]);
      expect(someone.decisions.map((d) => d.reason)).toEqual(['stale']);
    });

    const verdict = await run.finish(eps());
    expect(load.unexpected).toEqual([]);
    expectNoViolation(verdict);
  });

  it('restarted from its saved list (after a SIGKILL) while the writer is down: every acknowledged revocation revoked at once, then converged', async () => {
    const load = loadFor('ep-saved');
    const run = new ChaosRun(
      'enforcement point restarted from its saved list',
      env.db,
      [load],
      eps(),
      watcherDb,
    );
    await acknowledgedMore(load, 80);
    await load.stop();
    // The list on disk is at most one save interval (500 ms) behind what it applied.
    await run.finish(eps()); // settled: everything applied (and saved within 500 ms)

    const load2 = loadFor('ep-saved-2');
    const run2 = new ChaosRun(
      'enforcement point restarted from its saved list (2)',
      env.db,
      [load, load2],
      eps(),
      watcherDb,
    );
    await acknowledgedMore(load2, 40);
    await load2.stop();
    await outboxEmpty();
    await withWriterDown(async () => {
      await run2.sampler.unwatch(withList);
      await withList.kill();
      withList = await startProcess('with-saved-list-again', true);
      run2.sampler.watch(withList);
      await withList.ready();
      const now = await decisionsAt(withList, load);
      expect(now).toEqual({ fresh: false, ready: true, reasons: new Set(['revoked']) });
    });

    const verdict = await run2.finish(eps());
    expect([...load.unexpected, ...load2.unexpected]).toEqual([]);
    expectNoViolation(verdict);
  });
});
