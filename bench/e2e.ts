/**
 * The whole system on one machine, with the peers in the same run:
 *
 *   npm run bench:e2e
 *
 * Starts the real broker (tools/kafka), a fresh PostgreSQL schema, node-oidc-provider (the
 * IdP whose tokens are checked and introspected), the writer as its own process (the
 * production build) and enforcement points as processes of their own (the consumer library with
 * its default settings, bench/e2e-enforcement-point.main.ts), then runs these scenarios
 * (BENCH_SCENARIOS, comma-separated; default all, in this order):
 *
 * - `bootstrap`: BENCH_RULES (default 1,000,000) live rules are seeded, then one enforcement
 *   point starts cold from the writer's snapshot, then BENCH_ENFORCEMENT_POINTS (default 4) at
 *   once: time from `start()` to `ready`, and from spawning the process;
 * - `sustained`: BENCH_RATE (default 1,000) HR terminations per second over HTTP, one per
 *   request, open loop (each sent at its time whatever the answers before it) for BENCH_SECONDS
 *   (default 20, after a warm-up of BENCH_WARM_UP_SECONDS, default 5, at the same rate), with
 *   the enforcement points running: send → 202 at the load generator, and
 *   202 → applied at each enforcement point, on one clock (CLOCK_MONOTONIC, shared by the
 *   processes of one machine);
 * - `peers`: the per-request check a gateway could make instead, each closed loop at 1 and 16
 *   requests in flight for BENCH_PEER_SECONDS (default 5): the consumer's `check()` in an
 *   enforcement point, a Redis SISMEMBER (127.0.0.1:6379), node-oidc-provider's RFC 7662
 *   introspection (its in-memory adapter: its best case) and the writer's `/oauth/introspect`,
 *   all on the same access token of the IdP.
 *
 * Before each scenario it waits (up to BENCH_LOAD_WAIT_SECONDS, default 150) until the 1-minute
 * load average is at most BENCH_MAX_LOAD (default 1.0 on this 2-core box); a scenario that
 * starts above it is marked in the table and the JSON. The load average is printed before and
 * after each scenario. Raw results go to BENCH_OUT (default bench/results/e2e-<time>.json).
 * Needs PostgreSQL on 127.0.0.1:5432 (TEST_DATABASE_URL), Java 17 and Maven, and Redis for the
 * Redis peer (skipped, and said so, without it). BENCH_CPU_PROF=<dir> takes a CPU profile of the
 * writer (written when it exits).
 */
import { topicSpecs } from '@rescind/contracts';
import { BINARY_SNAPSHOT_TYPE } from '@rescind/revocation-consumer';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { KafkaBroker } from '../tools/kafka/broker';
import {
  type RunningIdentityProvider,
  startIdentityProvider,
} from '../test/support/identity-provider/identity-provider';
import { basicAuth } from '../test/support/oauth-requests';
import { connectToSchema, createTestSchema, type TestSchema } from '../test/support/postgres';
import { machine, percentile } from './report';
import { RespClient } from './resp';
import {
  admin,
  BENCH_TOKEN,
  cpuSeconds,
  load,
  type LoadGate,
  loadGate,
  post,
  startWriterProcess,
  type WriterProcess,
} from './system';

const env = process.env;
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'bootstrap,sustained,peers').split(',');
const RULES = Number(env.BENCH_RULES ?? 1_000_000);
const ENFORCEMENT_POINTS = Number(env.BENCH_ENFORCEMENT_POINTS ?? 4);
const RATE = Number(env.BENCH_RATE ?? 1000);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const WARM_UP_SECONDS = Number(env.BENCH_WARM_UP_SECONDS ?? 5);
const PEER_SECONDS = Number(env.BENCH_PEER_SECONDS ?? 5);
const MAX_LOAD = Number(env.BENCH_MAX_LOAD ?? 1.0);
const LOAD_WAIT_SECONDS = Number(env.BENCH_LOAD_WAIT_SECONDS ?? 150);
const OUT =
  env.BENCH_OUT ?? `bench/results/e2e-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const SEED = 'seed-template';

const nowNs = (): bigint => process.hrtime.bigint();
const msBetween = (from: bigint, to: bigint): number => Number(to - from) / 1e6;

/** p50 / p99 / max of a list of milliseconds, for the table and the JSON. */
interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}
function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
const ms = (x: number): string =>
  Number.isNaN(x) ? '-' : `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;
const fmt = (s: Spread): string => `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}`;

/** One line of the printed table, and its raw record in the JSON. */
interface Row {
  scenario: string;
  figure: string;
  value: string;
  goal?: string;
  gate: LoadGate;
  loadAfter: string;
}
const rows: Row[] = [];
const raw: Record<string, unknown> = {};

// ---------------------------------------------------------------------------------------------
// Enforcement points

interface ReadyMessage {
  type: 'ready';
  startedAtNs: string;
  readyAtNs: string;
  rules: number;
  lastSeq: number;
  heapUsedBytes: number;
}

/** An enforcement point process, seen from here: when it applied what, and its timings. */
class EnforcementPoint {
  readonly applied = new Map<string, bigint>();
  readonly spawnedAt = nowNs();
  readonly ready: Promise<ReadyMessage>;
  private checked: ((batchNs: number[]) => void) | null = null;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message: { type: string } & Record<string, unknown>) => {
        if (message.type === 'ready') {
          resolve(message as unknown as ReadyMessage);
        } else if (message.type === 'applied') {
          for (const [subject, at] of message.entries as Array<[string, string]>) {
            if (!this.applied.has(subject)) {
              this.applied.set(subject, BigInt(at));
            }
          }
        } else if (message.type === 'checked') {
          this.checked?.(message.batchNs as number[]);
        }
      });
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    });
    this.ready.catch(() => undefined);
  }

  static start(name: string, brokers: string[], snapshotUrl: string, token: string, iss: string) {
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'bench/e2e-enforcement-point.main.ts',
      ],
      {
        env: {
          ...process.env,
          BENCH_EP_BROKERS: brokers.join(','),
          BENCH_EP_GROUP: `bench-e2e-${name}`,
          BENCH_EP_SNAPSHOT_URL: snapshotUrl,
          BENCH_EP_SNAPSHOT_TOKEN: token,
          BENCH_EP_ISS: iss,
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    return new EnforcementPoint(name, child);
  }

  /** Per-call nanoseconds of `check()` on misses, per batch of 1,000 calls. */
  checks(samples: number): Promise<number[]> {
    return new Promise((resolve) => {
      this.checked = resolve;
      this.child.send({ type: 'check', samples });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' });
      setTimeout(() => this.child.kill('SIGKILL'), 10_000).unref();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The system under test

interface System {
  broker: KafkaBroker;
  schema: TestSchema;
  db: Client;
  idp: RunningIdentityProvider;
  writer: WriterProcess;
  readerToken: string;
  snapshotUrl: string;
}

async function startSystem(): Promise<System> {
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  const schema = await createTestSchema('benche2e');
  const db = await connectToSchema(schema);
  const idp = await startIdentityProvider();
  const writer = await startWriterProcess(
    schema,
    broker.brokers,
    {
      KAFKA_INGEST_SOURCES: 'none',
      ISSUERS: JSON.stringify([
        {
          issuer: idp.issuer,
          jwksUri: idp.jwksUri,
          algorithms: ['RS256'],
          tokenClaims: ['auth_time', 'sid'],
          maxTokenLifetimeSeconds: Math.max(60, idp.ttl.AccessToken),
        },
      ]),
    },
    env.BENCH_CPU_PROF !== undefined ? { cpuProfileDir: env.BENCH_CPU_PROF } : {},
  );
  const reader = await admin(schema, broker.brokers, [
    'credential',
    'create',
    '--name',
    'bench-enforcement-points',
    '--role',
    'reader',
  ]);
  return {
    broker,
    schema,
    db,
    idp,
    writer,
    readerToken: reader.token as string,
    snapshotUrl: `${writer.url}/v1/deny-list/snapshot`,
  };
}

async function stopSystem(system: Partial<System>): Promise<void> {
  await system.writer?.stop();
  await system.idp?.stop();
  await system.db?.end();
  await system.schema?.drop();
  await system.broker?.stop();
}

function termination(id: string, subject: string, iss: string): string {
  return JSON.stringify({
    id,
    type: 'employee.terminated',
    occurredAt: new Date().toISOString(),
    subject,
    iss,
  });
}

const hrHeaders = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };

/** Waits for `condition`, polling every `intervalMs`, for at most `timeoutMs`. */
async function until(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 500,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

/** Starts a scenario: the load gate, and the line saying so. */
async function begin(scenario: string): Promise<LoadGate> {
  const gate = await loadGate(MAX_LOAD, LOAD_WAIT_SECONDS);
  console.log(
    `\n## ${scenario}: load average before ${load()}` +
      (gate.waitedSeconds > 0 ? ` (waited ${gate.waitedSeconds} s for ≤ ${MAX_LOAD})` : '') +
      (gate.exceeded ? `: ABOVE THE GATE ${MAX_LOAD}, figures marked` : ''),
  );
  return gate;
}

function record(row: Omit<Row, 'loadAfter'>): void {
  rows.push({ ...row, loadAfter: load() });
  console.log(`${row.figure}: ${row.value}${row.goal ? `   (goal ${row.goal})` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Scenario: cold bootstrap with a million rules

/**
 * Seeds `count` live rules: one HR termination through the writer gives the template (its rule
 * row and outbox row, exactly as the write path makes them), which SQL copies with new subjects
 * and new seqs drawn from `rule_seq`. The writer's relay then publishes the copies like any
 * other outbox rows, and its deny-list mirror reads them from the topic.
 */
async function seed(system: System, count: number): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true });
  const answer = await post(
    agent,
    `${system.writer.url}/v1/events/hr`,
    hrHeaders,
    termination(`${SEED}-event`, SEED, system.idp.issuer),
  );
  agent.destroy();
  if (answer.status !== 202) {
    throw new Error(`seeding: the template event got ${answer.status} ${answer.text}`);
  }
  const t0 = nowNs();
  await system.db.query(
    `WITH template AS (
       SELECT r AS rule, o.topic_key, o.payload, o.headers
         FROM revocation_rule r JOIN outbox o ON o.seq = r.seq
        WHERE r.value = $2),
     copies AS (
       SELECT 'seed-' || i AS value, nextval('rule_seq') AS seq, gen_random_uuid() AS id
         FROM generate_series(1, $1) AS i),
     rules AS (
       INSERT INTO revocation_rule
       SELECT (jsonb_populate_record(NULL::revocation_rule, to_jsonb(t.rule) || jsonb_build_object(
                 'id', c.id, 'value', c.value, 'seq', c.seq,
                 'rule_key', replace((t.rule).rule_key, $2, c.value)))).*
         FROM template t, copies c)
     INSERT INTO outbox (seq, topic_key, payload, headers)
     SELECT c.seq, replace(t.topic_key, $2, c.value),
            jsonb_set(jsonb_set(replace(t.payload::text, $2, c.value)::jsonb,
                                '{seq}', to_jsonb(c.seq)), '{revocationId}', to_jsonb(c.id::text)),
            t.headers
       FROM template t, copies c`,
    [count, SEED],
  );
  const inserted = msBetween(t0, nowNs());
  const maxSeq = Number(
    (await system.db.query<{ s: string }>('SELECT max(seq) AS s FROM revocation_rule')).rows[0]!.s,
  );
  await until(
    'the relay to publish the seeded rules',
    async () =>
      (
        await system.db.query<{ n: string }>(
          'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL',
        )
      ).rows[0]!.n === '0',
    900_000,
    1000,
  );
  const published = msBetween(t0, nowNs());
  await until(
    "the writer's mirror to hold the seeded rules",
    async () => {
      const response = await fetch(system.snapshotUrl, {
        headers: { accept: BINARY_SNAPSHOT_TYPE, authorization: `Bearer ${system.readerToken}` },
      });
      await response.arrayBuffer();
      return (
        response.headers.get('content-type') === BINARY_SNAPSHOT_TYPE &&
        Number(response.headers.get('rescind-snapshot-watermark')) >= maxSeq
      );
    },
    300_000,
    1000,
  );
  const mirrored = msBetween(t0, nowNs());
  const snapshot = await fetch(system.snapshotUrl, {
    headers: { accept: BINARY_SNAPSHOT_TYPE, authorization: `Bearer ${system.readerToken}` },
  });
  const bytes = (await snapshot.arrayBuffer()).byteLength;
  console.log(
    `seeded ${count.toLocaleString('en')} rules in ${(inserted / 1000).toFixed(1)} s (SQL), ` +
      `published by the relay after ${(published / 1000).toFixed(1)} s, in the writer's mirror after ` +
      `${(mirrored / 1000).toFixed(1)} s; binary snapshot ${(bytes / 2 ** 20).toFixed(1)} MiB ` +
      `(${(bytes / count).toFixed(0)} B per rule)`,
  );
  return {
    insertedMs: inserted,
    publishedMs: published,
    mirroredMs: mirrored,
    snapshotBytes: bytes,
    maxSeq,
  };
}

interface Bootstrap {
  name: string;
  startToReadyMs: number;
  spawnToReadyMs: number;
  rules: number;
}

async function coldStart(
  system: System,
  names: string[],
): Promise<{ eps: EnforcementPoint[]; runs: Bootstrap[] }> {
  const eps = names.map((name) =>
    EnforcementPoint.start(
      name,
      system.broker.brokers,
      system.snapshotUrl,
      system.readerToken,
      system.idp.issuer,
    ),
  );
  const runs = await Promise.all(
    eps.map(async (ep) => {
      const ready = await ep.ready;
      return {
        name: ep.name,
        startToReadyMs: msBetween(BigInt(ready.startedAtNs), BigInt(ready.readyAtNs)),
        spawnToReadyMs: msBetween(ep.spawnedAt, BigInt(ready.readyAtNs)),
        rules: ready.rules,
      };
    }),
  );
  return { eps, runs };
}

async function bootstrapScenario(system: System): Promise<EnforcementPoint[]> {
  const gateSeed = await begin(`seeding ${RULES.toLocaleString('en')} rules`);
  const seeded = await seed(system, RULES);
  raw.seed = { ...seeded, gate: gateSeed };

  let gate = await begin('cold bootstrap, one enforcement point');
  const one = await coldStart(system, ['ep-solo']);
  await Promise.all(one.eps.map((ep) => ep.stop()));
  const solo = one.runs[0]!;
  record({
    scenario: 'bootstrap',
    figure: `cold start, 1 enforcement point, ${solo.rules.toLocaleString('en')} rules`,
    value: `start() → ready ${ms(solo.startToReadyMs)} (process spawn → ready ${ms(solo.spawnToReadyMs)})`,
    goal: '≤ 3 s',
    gate,
  });
  raw.bootstrapOne = { runs: one.runs, gate };

  gate = await begin(`cold bootstrap, ${ENFORCEMENT_POINTS} enforcement points at once`);
  const fleet = await coldStart(
    system,
    Array.from({ length: ENFORCEMENT_POINTS }, (_, i) => `ep-${i + 1}`),
  );
  const starts = fleet.runs.map((r) => r.startToReadyMs);
  record({
    scenario: 'bootstrap',
    figure: `cold start, ${ENFORCEMENT_POINTS} at once, ${fleet.runs[0]!.rules.toLocaleString('en')} rules each`,
    value:
      `start() → ready slowest ${ms(Math.max(...starts))}, fastest ${ms(Math.min(...starts))} ` +
      `(spawn → ready slowest ${ms(Math.max(...fleet.runs.map((r) => r.spawnToReadyMs)))})`,
    goal: '≤ 5 s each',
    gate,
  });
  raw.bootstrapFleet = { runs: fleet.runs, gate };
  return fleet.eps;
}

// ---------------------------------------------------------------------------------------------
// Scenario: sustained revocations with the fleet running

/** What one open-loop offer of HR terminations gave: when each was sent and acknowledged. */
interface Offer {
  start: bigint;
  offeredSeconds: number;
  sentAt: Map<string, bigint>;
  ackedAt: Map<string, bigint>;
  refused: Map<number, number>;
  lateSends: number;
}

/**
 * Offers `rate` HR terminations per second for `seconds`, open loop: each is sent at its time,
 * whatever the answers before it, on up to 512 keep-alive connections.
 */
async function offer(
  system: System,
  prefix: string,
  rate: number,
  seconds: number,
): Promise<Offer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const result: Offer = {
    start: nowNs(),
    offeredSeconds: 0,
    sentAt: new Map(),
    ackedAt: new Map(),
    refused: new Map(),
    lateSends: 0,
  };
  const { sentAt, ackedAt, refused, start } = result;
  const total = rate * seconds;
  const sends: Array<Promise<void>> = [];
  const send = (i: number): void => {
    const subject = `${prefix}-${i}`;
    sentAt.set(subject, nowNs());
    sends.push(
      post(
        agent,
        `${system.writer.url}/v1/events/hr`,
        hrHeaders,
        termination(`${prefix}-evt-${i}`, subject, system.idp.issuer),
      ).then(
        (response) => {
          if (response.status === 202) {
            ackedAt.set(subject, nowNs());
          } else {
            refused.set(response.status, (refused.get(response.status) ?? 0) + 1);
          }
        },
        () => {
          refused.set(0, (refused.get(0) ?? 0) + 1);
        },
      ),
    );
  };
  // Every millisecond, everything that is due; then back to the event loop, so that answers are
  // taken (and timed) between ticks instead of after a burst of sends.
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor((Number(nowNs() - start) * rate) / 1e9) + 1);
    for (; i < due; i += 1) {
      if (Number(nowNs() - (start + BigInt(Math.round((i * 1e9) / rate)))) / 1e6 > 5) {
        result.lateSends += 1;
      }
      send(i);
    }
    await sleep(1);
  }
  await Promise.all(sends);
  result.offeredSeconds = msBetween(start, nowNs()) / 1000;
  agent.destroy();
  return result;
}

/** Waits until every enforcement point applied each of `subjects` (at most `timeoutMs`). */
function appliedEverywhere(eps: EnforcementPoint[], subjects: string[], timeoutMs: number) {
  return until(
    'every enforcement point to apply every acknowledged revocation',
    () => Promise.resolve(eps.every((ep) => subjects.every((s) => ep.applied.has(s)))),
    timeoutMs,
    200,
  ).catch((error: unknown) => console.log(`  ${String(error)}`));
}

/** The cumulative buckets of one histogram of the writer's GET /metrics: upper bound → count. */
async function writerHistogram(writer: WriterProcess, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${writer.url}/metrics`)).text();
  const buckets = new Map<number, number>();
  const pattern = new RegExp(`^${name}\\w*_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const [, le, count] of text.matchAll(pattern)) {
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(count));
  }
  return buckets;
}

/**
 * The bucket bounds that hold the p50 and p99 of what a histogram recorded between two scrapes:
 * "at most this much" (a histogram knows no finer).
 */
function histogramBounds(
  before: Map<number, number>,
  after: Map<number, number>,
): { n: number; p50AtMost: number; p99AtMost: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const n = counts[counts.length - 1] ?? 0;
  const bound = (q: number): number => bounds[counts.findIndex((c) => c >= q * n)] ?? Number.NaN;
  return { n, p50AtMost: bound(0.5), p99AtMost: bound(0.99) };
}

async function sustainedScenario(system: System, eps: EnforcementPoint[]): Promise<void> {
  const gate = await begin(
    `sustained ${RATE}/s over HTTP for ${SECONDS} s, ${eps.length} enforcement points`,
  );
  // A running service is warm: JIT-compiled, its connections open, its statements planned. The
  // first seconds of a cold writer at this rate queue for seconds; they are not the steady state.
  const warm = await offer(system, 'warm-up', RATE, WARM_UP_SECONDS);
  await appliedEverywhere(eps, [...warm.ackedAt.keys()], 60_000);
  console.log(
    `  warm-up: ${warm.ackedAt.size} acknowledged in ${warm.offeredSeconds.toFixed(1)} s (not measured)`,
  );
  const writerCpu = await cpuSeconds(system.writer.child.pid!);
  const epCpu = await Promise.all(eps.map((ep) => cpuSeconds(ep.pid)));
  const publishBefore = await writerHistogram(
    system.writer,
    'rescind_outbox_publish_latency_seconds',
  );
  const total = RATE * SECONDS;
  const { start, offeredSeconds, sentAt, ackedAt, refused, lateSends } = await offer(
    system,
    'sustained',
    RATE,
    SECONDS,
  );
  const acked = [...ackedAt.keys()];
  await appliedEverywhere(eps, acked, 60_000);
  // The writer's half of 202 → applied: its commit → the broker's acknowledgement of the record.
  const publish = histogramBounds(
    publishBefore,
    await writerHistogram(system.writer, 'rescind_outbox_publish_latency_seconds'),
  );
  const sendToAck = spread(acked.map((s) => msBetween(sentAt.get(s)!, ackedAt.get(s)!)));
  // Per second of the run: is the tail a warm-up, a stall, or spread over the whole run?
  const perSecond: Array<{ second: number } & Spread> = [];
  for (let second = 0; second < Math.floor(offeredSeconds); second += 1) {
    const from = start + BigInt(second * 1e9);
    const to = from + BigInt(1e9);
    const inSecond = acked.filter((s) => sentAt.get(s)! >= from && sentAt.get(s)! < to);
    perSecond.push({
      second,
      ...spread(inSecond.map((s) => msBetween(sentAt.get(s)!, ackedAt.get(s)!))),
    });
  }
  console.log(
    `  send → 202 p99 per second: ${perSecond.map((p) => Math.round(p.p99)).join(' ')} ms`,
  );
  const perEp = eps.map((ep) => ({
    name: ep.name,
    missing: acked.filter((s) => !ep.applied.has(s)).length,
    ackToApplied: spread(
      acked
        .filter((s) => ep.applied.has(s))
        .map((s) => msBetween(ackedAt.get(s)!, ep.applied.get(s)!)),
    ),
  }));
  const everywhere = spread(
    acked
      .filter((s) => eps.every((ep) => ep.applied.has(s)))
      .map((s) => Math.max(...eps.map((ep) => msBetween(ackedAt.get(s)!, ep.applied.get(s)!)))),
  );
  const cpu = {
    writerSeconds: (await cpuSeconds(system.writer.child.pid!)) - writerCpu,
    enforcementPointSeconds: (await Promise.all(eps.map((ep) => cpuSeconds(ep.pid)))).map(
      (c, i) => c - epCpu[i]!,
    ),
  };
  const refusedText = [...refused]
    .map(([status, n]) => `${n}× ${status === 0 ? 'no answer' : status}`)
    .join(', ');
  record({
    scenario: 'sustained',
    figure: `offered ${RATE}/s for ${offeredSeconds.toFixed(1)} s (${total.toLocaleString('en')})`,
    value:
      `${acked.length.toLocaleString('en')} acknowledged (${Math.round(acked.length / offeredSeconds)}/s)` +
      (refusedText ? `, refused: ${refusedText}` : ', none refused') +
      (lateSends > 0 ? `, ${lateSends} sent more than 5 ms late by the load generator` : ''),
    gate,
  });
  record({
    scenario: 'sustained',
    figure: 'send → 202',
    value: fmt(sendToAck),
    goal: 'p99 ≤ 50 ms',
    gate,
  });
  for (const ep of perEp) {
    record({
      scenario: 'sustained',
      figure: `202 → applied at ${ep.name}`,
      value: `${fmt(ep.ackToApplied)}${ep.missing > 0 ? `, ${ep.missing} never applied` : ''}`,
      goal: 'p50 ≤ 10 ms, p99 ≤ 50 ms',
      gate,
    });
  }
  record({
    scenario: 'sustained',
    figure: `202 → applied at all ${eps.length}`,
    value: fmt(everywhere),
    goal: 'p50 ≤ 10 ms, p99 ≤ 50 ms',
    gate,
  });
  record({
    scenario: 'sustained',
    figure: "writer's commit → broker acknowledgement (its histogram)",
    value: `p50 ≤ ${publish.p50AtMost * 1000} ms, p99 ≤ ${publish.p99AtMost * 1000} ms (${publish.n.toLocaleString('en')} records)`,
    gate,
  });
  record({
    scenario: 'sustained',
    figure: 'CPU',
    value:
      `writer ${((cpu.writerSeconds / offeredSeconds) * 100).toFixed(0)} % of a core, enforcement points ` +
      cpu.enforcementPointSeconds
        .map((c) => `${((c / offeredSeconds) * 100).toFixed(0)} %`)
        .join(' / '),
    gate,
  });
  raw.sustained = {
    rate: RATE,
    offeredSeconds,
    acknowledged: acked.length,
    refused: Object.fromEntries(refused),
    lateSends,
    sendToAck,
    sendToAckPerSecond: perSecond,
    commitToBrokerAck: publish,
    perEnforcementPoint: perEp,
    everywhere,
    cpu,
    gate,
  };
}

// ---------------------------------------------------------------------------------------------
// Scenario: the per-request check, against the peers

interface Loop {
  inFlight: number;
  requests: number;
  errors: number;
  perSecond: number;
  latency: Spread;
}

/** `inFlight` workers calling `once` back to back for `seconds`: throughput and latency. */
async function closedLoop(
  inFlight: number,
  seconds: number,
  once: (worker: number) => Promise<boolean>,
): Promise<Loop> {
  const latencies: number[] = [];
  let errors = 0;
  const start = nowNs();
  const end = start + BigInt(seconds * 1e9);
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      while (nowNs() < end) {
        const t0 = nowNs();
        const ok = await once(worker).catch(() => false);
        latencies.push(msBetween(t0, nowNs()));
        if (!ok) {
          errors += 1;
        }
      }
    }),
  );
  const elapsed = msBetween(start, nowNs()) / 1000;
  return {
    inFlight,
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    latency: spread(latencies),
  };
}

async function introspectionLoop(
  url: string,
  authorization: Record<string, string>,
  token: string,
  inFlight: number,
): Promise<Loop> {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const body = new URLSearchParams({ token }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...authorization };
  const first = await post(agent, url, headers, body);
  if (first.status !== 200 || !(JSON.parse(first.text) as { active?: unknown }).active) {
    throw new Error(`introspection at ${url} answered ${first.status} ${first.text.slice(0, 300)}`);
  }
  try {
    return await closedLoop(inFlight, PEER_SECONDS, async () => {
      const response = await post(agent, url, headers, body);
      return (
        response.status === 200 &&
        (JSON.parse(response.text) as { active?: unknown }).active === true
      );
    });
  } finally {
    agent.destroy();
  }
}

async function redisLoop(inFlight: number, members: number): Promise<Loop | string> {
  const clients: RespClient[] = [];
  try {
    for (let i = 0; i < inFlight; i += 1) {
      clients.push(await RespClient.open('127.0.0.1', 6379));
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.close()));
    return `skipped: ${(error as Error).message}`;
  }
  const key = `rescind:bench-e2e:${process.pid}:deny`;
  try {
    if (inFlight === 1) {
      for (let base = 0; base < members; base += 10_000) {
        const commands: string[][] = [];
        for (let c = base; c < Math.min(members, base + 10_000); c += 1000) {
          const command = ['SADD', key];
          for (let j = c; j < Math.min(members, c + 1000); j += 1) {
            command.push(`sub:${j}`);
          }
          commands.push(command);
        }
        await clients[0]!.pipeline(commands);
      }
    }
    let n = 0;
    return await closedLoop(inFlight, PEER_SECONDS, async (worker) => {
      n += 1;
      return (await clients[worker]!.command('SISMEMBER', key, `sub:miss-${n}`)) === 0;
    });
  } finally {
    if (inFlight !== 1) {
      await clients[0]!.command('UNLINK', key);
    }
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function peersScenario(system: System, eps: EnforcementPoint[]): Promise<void> {
  const gate = await begin('the per-request check and its peers');
  const results: Record<string, unknown> = {};
  const loopText = (loop: Loop): string =>
    `${Math.round(loop.perSecond).toLocaleString('en')}/s, ${fmt(loop.latency)}${loop.errors > 0 ? `, ${loop.errors} errors` : ''}`;

  if (eps.length > 0) {
    const batches = (await eps[0]!.checks(2_000_000)).sort((a, b) => a - b);
    const mean = batches.reduce((a, b) => a + b, 0) / batches.length;
    results.check = {
      batchesOf1000: batches.length,
      meanNs: mean,
      p50Ns: percentile(batches, 50),
      p99Ns: percentile(batches, 99),
    };
    record({
      scenario: 'peers',
      figure: `check() in ${eps[0]!.name} (misses, list of the bootstrap)`,
      value: `${(1e9 / mean / 1e6).toFixed(2)} M/s on one core; per call, over batches of 1,000: p50 ${percentile(batches, 50).toFixed(0)} ns, p99 ${percentile(batches, 99).toFixed(0)} ns`,
      gate,
    });
  }

  const login = await system.idp.login('bench-peer-user');
  const idpAuth = basicAuth(system.idp.rescindClient.id, system.idp.rescindClient.secret);
  const introspector = await admin(system.schema, system.broker.brokers, [
    'credential',
    'create',
    '--name',
    'bench-introspector',
    '--role',
    'introspector',
  ]);
  const writerAuth = { authorization: `Bearer ${introspector.token as string}` };
  const writerIntrospection = `${system.writer.url}/oauth/introspect`;

  for (const inFlight of [1, 16]) {
    const redis = await redisLoop(inFlight, RULES);
    // node-oidc-provider refuses to introspect its JWT access tokens ("Structured JWT Tokens
    // cannot be introspected"): it introspects its opaque refresh token, a lookup in its
    // in-memory adapter, which is its cheapest introspection.
    const idp = await introspectionLoop(
      system.idp.endpoints.introspection,
      idpAuth,
      login.refreshToken,
      inFlight,
    );
    const writer = await introspectionLoop(
      writerIntrospection,
      writerAuth,
      login.accessToken,
      inFlight,
    );
    results[`inFlight${inFlight}`] = { redis, idpIntrospection: idp, writerIntrospection: writer };
    record({
      scenario: 'peers',
      figure: `Redis SISMEMBER, ${inFlight} in flight`,
      value: typeof redis === 'string' ? redis : loopText(redis),
      gate,
    });
    record({
      scenario: 'peers',
      figure: `node-oidc-provider introspection, ${inFlight} in flight`,
      value: loopText(idp),
      gate,
    });
    record({
      scenario: 'peers',
      figure: `writer /oauth/introspect, ${inFlight} in flight`,
      value: `${loopText(writer)}; ${(writer.perSecond / idp.perSecond).toFixed(2)}× node-oidc-provider`,
      goal: '≥ 1× node-oidc-provider',
      gate,
    });
  }
  raw.peers = { ...results, gate };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `settings: ${RULES.toLocaleString('en')} rules, ${ENFORCEMENT_POINTS} enforcement points, ${RATE}/s for ${SECONDS} s, ` +
      `peers ${PEER_SECONDS} s each, load gate ≤ ${MAX_LOAD} (waiting up to ${LOAD_WAIT_SECONDS} s), ${cpus().length} CPUs`,
  );
  const system: Partial<System> = {};
  let eps: EnforcementPoint[] = [];
  try {
    Object.assign(system, await startSystem());
    const running = system as System;
    if (SCENARIOS.includes('bootstrap')) {
      eps = await bootstrapScenario(running);
    } else {
      eps = (
        await coldStart(
          running,
          Array.from({ length: ENFORCEMENT_POINTS }, (_, i) => `ep-${i + 1}`),
        )
      ).eps;
    }
    if (SCENARIOS.includes('sustained')) {
      await sustainedScenario(running, eps);
    }
    if (SCENARIOS.includes('peers')) {
      await peersScenario(running, eps);
    }
  } finally {
    await Promise.all(eps.map((ep) => ep.stop()));
    await stopSystem(system);
  }

  console.log('\n## Results\n');
  console.log('| scenario | figure | measured | goal | load avg before → after |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    const mark = row.gate.exceeded ? ` ⚠ above gate ${row.gate.threshold}` : '';
    console.log(
      `| ${row.scenario} | ${row.figure} | ${row.value} | ${row.goal ?? ''} | ${row.gate.before.toFixed(2)} → ${row.loadAfter.split(' ')[0]}${mark} |`,
    );
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), settings: { RULES, ENFORCEMENT_POINTS, RATE, SECONDS, PEER_SECONDS, MAX_LOAD }, rows, raw, loadAtEnd: loadavg() }, null, 2)}\n`,
  );
  console.log(`\nraw results: ${OUT}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
