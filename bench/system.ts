/**
 * What the system benchmarks (bench:ingest, bench:e2e) share: the writer as its own process,
 * a keep-alive HTTP client, the admin CLI, CPU accounting, and the load-average gate.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { type Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { TestSchema } from '../test/support/postgres';

/** The shared ingest credential the benchmarks' writers accept (role `hr`). */
export const BENCH_TOKEN = 'bench-ingest-token-0123456789abcdef0123456789';

export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** One request on a keep-alive agent: status and body text (node:http: the cheapest client). */
export function post(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface WriterProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface WriterProcessOptions {
  /** `--cpu-prof` into this directory (one profile per process, written at exit). */
  cpuProfileDir?: string;
}

/** The writer's entry point: the production build unless BENCH_WRITER says otherwise. */
function writerArgs(): string[] {
  // As production runs it (`npm run build`): ts-node would load `repl`, and with it `domain`,
  // which slows every EventEmitter.emit of the process.
  return process.env.BENCH_WRITER === 'ts'
    ? [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/revocation-writer/src/main.ts',
      ]
    : [process.env.BENCH_WRITER_MAIN ?? 'dist/apps/revocation-writer/main.js'];
}

/** The environment of a benchmark writer: production defaults except where named. */
function writerEnv(
  schema: TestSchema,
  brokers: string[],
  env: Record<string, string>,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
    KAFKA_BROKERS: brokers.join(','),
    INGEST_BEARER_TOKEN: BENCH_TOKEN,
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '1000000',
    OTEL_TRACES_EXPORTER: 'none',
    ...env,
  };
}

/** The writer as `main.ts` runs it, ready (GET /health/ready answers 200). */
export async function startWriterProcess(
  schema: TestSchema,
  brokers: string[],
  env: Record<string, string>,
  options: WriterProcessOptions = {},
): Promise<WriterProcess> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const args = [
    ...(options.cpuProfileDir !== undefined
      ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
      : []),
    ...writerArgs(),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...writerEnv(schema, brokers, env), PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the writer exited with ${child.exitCode}`);
    }
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) {
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the writer did not become ready within 60 s');
    }
    await sleep(200);
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * One `rescind-admin` command (the production CLI, `dist/apps/revocation-writer/cli.js`) on the
 * benchmark's schema; its JSON answer.
 */
export async function admin(
  schema: TestSchema,
  brokers: string[],
  args: string[],
): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['dist/apps/revocation-writer/cli.js', ...args],
    { env: writerEnv(schema, brokers, {}) },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** User and system CPU seconds of a process so far (Linux /proc). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** How a scenario stood with the load-average gate. */
export interface LoadGate {
  /** 1-minute load average when the scenario started, and the threshold it was held to. */
  before: number;
  threshold: number;
  /** Seconds spent waiting for the machine to quieten. */
  waitedSeconds: number;
  /** The load average stayed above the threshold: the figure is marked, not trusted. */
  exceeded: boolean;
}

/**
 * Waits (up to `maxWaitSeconds`) until the 1-minute load average is at most `threshold`: a
 * scenario does not start on a machine still busy with the previous one or with anything else.
 * If it never gets there, the scenario runs anyway and its figures are marked.
 */
export async function loadGate(threshold: number, maxWaitSeconds: number): Promise<LoadGate> {
  const start = Date.now();
  while (loadavg()[0]! > threshold && Date.now() - start < maxWaitSeconds * 1000) {
    await sleep(1000);
  }
  const before = loadavg()[0]!;
  return {
    before,
    threshold,
    waitedSeconds: Math.round((Date.now() - start) / 1000),
    exceeded: before > threshold,
  };
}
