/**
 * Write-path throughput on a real broker and a real PostgreSQL: the writer runs as its own
 * process (as in production), and this process is the load generator.
 *
 *   npm run bench:ingest
 *
 * Scenarios (BENCH_SCENARIOS, comma-separated; default all):
 * - `http`: HR terminations posted one per request (distinct ids), closed loop, at each
 *   concurrency of BENCH_CONNECTIONS (default 1,16,64) for BENCH_SECONDS each (default 10);
 * - `bulk`: the same events through `POST /v1/events/hr/bulk`, BENCH_BULK_SIZE per request
 *   (default 500), 4 requests in flight;
 * - `kafka`: BENCH_KAFKA_EVENTS (default 50000) terminations preloaded on `hr.events.v1`, then a
 *   writer started that consumes them: events per second until the last is committed.
 *
 * The writer is the production build (`dist/`, which `npm run bench:ingest` builds first);
 * BENCH_WRITER=ts runs the sources through ts-node instead; BENCH_WRITER_MAIN=<path> runs another
 * build (an earlier commit's `dist/apps/revocation-writer/main.js`, for a before/after).
 * BENCH_CPU_PROF=<dir> starts the writer with `--cpu-prof` (one profile per writer process, in
 * that directory, written when it exits). BENCH_PG_STATEMENTS=1 prints the top statements of
 * `pg_stat_statements` after each scenario (the extension must be preloaded on the server).
 * Needs PostgreSQL on 127.0.0.1:5432 (TEST_DATABASE_URL), Java 17 and Maven.
 */
import { topicSpecs, Topics } from '@rescind/contracts';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { Agent } from 'node:http';
import { KafkaBroker } from '../tools/kafka/broker';
import { createTestSchema, type TestSchema } from '../test/support/postgres';
import { machine, percentile } from './report';
import {
  BENCH_TOKEN as TOKEN,
  cpuSeconds,
  load,
  post,
  startWriterProcess as startWriter,
  type WriterProcess,
} from './system';

const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'http,bulk,kafka').split(',');
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BULK_SIZE = Number(process.env.BENCH_BULK_SIZE ?? 500);
const BULK_SECONDS = Number(process.env.BENCH_BULK_SECONDS ?? SECONDS);
const KAFKA_EVENTS = Number(process.env.BENCH_KAFKA_EVENTS ?? 50_000);
const CPU_PROF = process.env.BENCH_CPU_PROF;

/** The writer as `main.ts` runs it, profiled with BENCH_CPU_PROF. */
const startWriterProcess = (schema: TestSchema, brokers: string[], env: Record<string, string>) =>
  startWriter(schema, brokers, env, CPU_PROF !== undefined ? { cpuProfileDir: CPU_PROF } : {});
const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';
const ISS = 'https://idp.example.com';

function termination(id: string, subject: string): Record<string, unknown> {
  return {
    id,
    type: 'employee.terminated',
    occurredAt: new Date().toISOString(),
    subject,
    iss: ISS,
  };
}

interface Run {
  scenario: string;
  events: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  writerCpuSeconds: number;
}

function report(run: Run): void {
  const sorted = run.latenciesMs.sort((a, b) => a - b);
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  console.log(
    `${run.scenario.padEnd(22)} ${String(Math.round(run.events / run.seconds)).padStart(7)} events/s` +
      `  (${run.events} in ${run.seconds.toFixed(1)} s, ${run.errors} errors)` +
      (sorted.length > 0
        ? `  ack p50 ${ms(percentile(sorted, 50))} p99 ${ms(percentile(sorted, 99))}`
        : '') +
      `  writer CPU ${((run.writerCpuSeconds * 1000) / Math.max(1, run.events)).toFixed(3)} ms/event` +
      `  load ${load()}`,
  );
}

/** Mean events per write transaction so far, from the writer's own histogram. */
async function meanTransactionEvents(writer: WriterProcess): Promise<string> {
  const text = await fetch(`${writer.url}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const value = (name: string): number =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const sum = value('rescind_write_transaction_events_sum');
  const count = value('rescind_write_transaction_events_count');
  return `${count} transactions, ${(sum / count).toFixed(1)} events each`;
}

async function httpSingles(writer: WriterProcess, connections: number, tag: string): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const cpuBefore = await cpuSeconds(writer.child.pid!);
  const start = performance.now();
  const end = start + SECONDS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      const sent = performance.now();
      const response = await post(
        agent,
        `${writer.url}/v1/events/hr`,
        { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        JSON.stringify(termination(`${tag}-${i}`, `${tag}-user-${i}`)),
      );
      latencies.push(performance.now() - sent);
      if (response.status !== 202) {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    scenario: `http single, ${connections} conn`,
    events: latencies.length - errors,
    errors,
    seconds,
    latenciesMs: latencies,
    writerCpuSeconds: (await cpuSeconds(writer.child.pid!)) - cpuBefore,
  };
}

async function httpBulk(writer: WriterProcess, tag: string): Promise<Run> {
  const inFlight = 4;
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const latencies: number[] = [];
  let events = 0;
  let errors = 0;
  let next = 0;
  const cpuBefore = await cpuSeconds(writer.child.pid!);
  const start = performance.now();
  const end = start + BULK_SECONDS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const base = next;
      next += BULK_SIZE;
      const body = Array.from({ length: BULK_SIZE }, (_, k) =>
        JSON.stringify(termination(`${tag}-${base + k}`, `${tag}-user-${base + k}`)),
      ).join('\n');
      const sent = performance.now();
      const response = await post(
        agent,
        `${writer.url}/v1/events/hr/bulk?confirm=true`,
        { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
        body,
      );
      latencies.push(performance.now() - sent);
      const answer = (response.status === 200 ? JSON.parse(response.text) : {}) as {
        results?: Array<{ status: number }>;
      };
      if (answer.results === undefined) {
        errors += BULK_SIZE;
        continue;
      }
      for (const result of answer.results) {
        if (result.status === 202) {
          events += 1;
        } else {
          errors += 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    scenario: `http bulk x${BULK_SIZE}`,
    events,
    errors,
    seconds,
    latenciesMs: latencies,
    writerCpuSeconds: (await cpuSeconds(writer.child.pid!)) - cpuBefore,
  };
}

async function kafkaInput(
  schema: TestSchema,
  brokers: string[],
  db: Client,
  tag: string,
): Promise<Run> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING, clientId: 'bench-ingest' });
  const producer = kafka.producer();
  await producer.connect();
  const chunk = 5000;
  for (let base = 0; base < KAFKA_EVENTS; base += chunk) {
    await producer.send({
      topic: Topics.hrEvents,
      acks: -1,
      messages: Array.from({ length: Math.min(chunk, KAFKA_EVENTS - base) }, (_, k) => ({
        key: `${tag}-user-${base + k}`,
        value: JSON.stringify(termination(`${tag}-${base + k}`, `${tag}-user-${base + k}`)),
      })),
    });
  }
  await producer.disconnect();
  const counted = async (): Promise<number> =>
    Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${schema.schema}.processed_event WHERE source = 'hr' AND event_id LIKE $1`,
          [`${tag}-%`],
        )
      ).rows[0]!.n,
    );
  const writer = await startWriterProcess(schema, brokers, {
    KAFKA_INGEST_SOURCES: 'hr',
    KAFKA_INGEST_GROUP_ID: `bench-${tag}`,
  });
  const cpuBefore = await cpuSeconds(writer.child.pid!);
  const start = performance.now();
  let firstAt: number | undefined;
  let done = 0;
  const deadline = start + 600_000;
  while (done < KAFKA_EVENTS && performance.now() < deadline) {
    await sleep(100);
    done = await counted();
    if (firstAt === undefined && done > 0) {
      firstAt = performance.now();
    }
  }
  const finishedAt = performance.now();
  const cpu = (await cpuSeconds(writer.child.pid!)) - cpuBefore;
  await writer.stop();
  return {
    scenario: `kafka hr.events.v1`,
    events: done,
    errors: KAFKA_EVENTS - done,
    // From the first committed event: the consumer's group join is not throughput.
    seconds: (finishedAt - (firstAt ?? start)) / 1000,
    latenciesMs: [],
    writerCpuSeconds: cpu,
  };
}

async function topStatements(db: Client): Promise<void> {
  if (!PG_STATEMENTS) {
    return;
  }
  const { rows } = await db.query<{ calls: string; total: number; mean: number; query: string }>(
    `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, query
       FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.total.toFixed(0).padStart(7)} ms ${row.calls.padStart(8)} calls ${row.mean.toFixed(3)} ms  ${row.query.replace(/\s+/g, ' ').slice(0, 110)}`,
    );
  }
  await db.query('SELECT pg_stat_statements_reset()');
}

async function main(): Promise<void> {
  console.log(machine());
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  const schema = await createTestSchema('benchingest');
  const db = new Client({ connectionString: schema.url });
  await db.connect();
  if (PG_STATEMENTS) {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.query('SELECT pg_stat_statements_reset()');
  }
  const runs: Run[] = [];
  try {
    if (SCENARIOS.includes('http') || SCENARIOS.includes('bulk')) {
      const writer = await startWriterProcess(schema, broker.brokers, {
        KAFKA_INGEST_SOURCES: 'none',
      });
      try {
        // Warm-up: JIT, pools and the first prepared plans.
        await httpSingles(writer, 8, 'warm');
        if (SCENARIOS.includes('http')) {
          for (const connections of CONNECTIONS) {
            console.log(`load average before: ${load()}`);
            const run = await httpSingles(writer, connections, `http${connections}`);
            report(run);
            console.log(`  so far: ${await meanTransactionEvents(writer)}`);
            runs.push(run);
            await topStatements(db);
          }
        }
        if (SCENARIOS.includes('bulk')) {
          console.log(`load average before: ${load()}`);
          const run = await httpBulk(writer, 'bulk');
          report(run);
          runs.push(run);
          await topStatements(db);
        }
      } finally {
        await writer.stop();
      }
    }
    if (SCENARIOS.includes('kafka')) {
      console.log(`load average before: ${load()}`);
      const run = await kafkaInput(schema, broker.brokers, db, 'kafka');
      report(run);
      runs.push(run);
      await topStatements(db);
    }
  } finally {
    await db.end();
    await schema.drop();
    await broker.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
