/**
 * One command, no Docker: starts a real Apache Kafka broker (tools/kafka, the jars from Maven
 * Central), the writer and a separate enforcement-point process, posts an HR termination and
 * shows the revocation arrive. Needs PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), Java 17 and Maven. Run with `npm run demo`, which
 * runs tools/preflight.js first: it installs the npm packages and the broker's jars, and names in
 * one line what else is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Client } from 'pg';
import { topicSpecs } from '@rescind/contracts';
import { KafkaBroker } from '../kafka/broker';

const ROOT = path.resolve(__dirname, '../..');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOKEN = randomBytes(24).toString('hex');
const WRITER = 'http://127.0.0.1:3900';
const GATEWAY = 'http://127.0.0.1:3901';
const ISS = 'https://idp.demo.example';

function startTs(script: string, env: Record<string, string>, label: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', script],
    {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: 'tsconfig.json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const relay = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      console.log(line.startsWith('[') ? line : `[${label}] ${line.slice(0, 300)}`);
    }
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  return child;
}

/**
 * Polls `probe` until it returns a value. Fails at once when `child` (the process that should
 * answer) has exited, rather than polling a dead process until the timeout.
 */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  child?: ChildProcess,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `gave up waiting for ${what}: its process exited (${child.exitCode ?? child.signalCode}); its output is above`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function check(sub: string, iat: number): Promise<string> {
  const response = await fetch(
    `${GATEWAY}/check?sub=${sub}&iss=${encodeURIComponent(ISS)}&iat=${iat}`,
  );
  return response.status === 401 ? 'REVOKED' : 'allowed';
}

async function main(): Promise<void> {
  const schema = `rescind_demo_${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  console.log(`[demo] Apache Kafka broker (KRaft) at ${broker.brokers.join(',')}`);
  try {
    const writer = startTs(
      'apps/revocation-writer/src/main.ts',
      {
        PORT: '3900',
        HOST: '127.0.0.1',
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        KAFKA_BROKERS: broker.brokers.join(','),
        INGEST_BEARER_TOKEN: TOKEN,
        LOG_LEVEL: 'warn',
      },
      'writer',
    );
    const enforcementPoint = startTs(
      'tools/demo/enforcement-point.ts',
      { PORT: '3901', KAFKA_BROKERS: broker.brokers.join(','), KAFKA_MAX_WAIT_MS: '50' },
      'enforcement point',
    );
    children.push(writer, enforcementPoint);
    await until(
      'the writer',
      async () => ((await fetch(`${WRITER}/health/ready`)).ok ? true : undefined),
      writer,
    );
    await until(
      'the enforcement point',
      async () => {
        const status = (await (await fetch(`${GATEWAY}/status`)).json()) as { ready: boolean };
        return status.ready ? true : undefined;
      },
      enforcementPoint,
    );

    const issuedBefore = Math.floor(Date.now() / 1000) - 60;
    console.log(
      `\n[demo] alice's token issued a minute ago: ${await check('alice', issuedBefore)}`,
    );
    console.log('[demo] HR posts employee.terminated for alice to the writer');
    const posted = Date.now();
    const response = await fetch(`${WRITER}/v1/events/hr`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        id: `demo-${Date.now()}`,
        type: 'employee.terminated',
        occurredAt: new Date().toISOString(),
        subject: 'alice',
        iss: ISS,
      }),
    });
    const accepted = Date.now();
    console.log(
      `[demo] writer answered ${response.status} ${await response.text()} in ${accepted - posted} ms`,
    );
    await until(
      'the revocation at the enforcement point',
      async () => ((await check('alice', issuedBefore)) === 'REVOKED' ? true : undefined),
      enforcementPoint,
    );
    console.log(
      `[demo] enforcement point rejects alice's old token ${Date.now() - accepted} ms after the 202`,
    );
    console.log(
      `[demo] alice's token from a new login after the termination: ${await check('alice', Math.ceil(Date.now() / 1000) + 1)} (until HR sends employee.rehired)`,
    );
    console.log(`[demo] bob's token: ${await check('bob', issuedBefore)}\n`);
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
    }
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    await broker.stop();
    await dropSchema(schema);
  }
}

/** Removes the demo's throwaway schema; a failure here must not hide the demo's own error. */
async function dropSchema(schema: string): Promise<void> {
  const db = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch (error) {
    console.error(`[demo] could not drop schema ${schema}: ${messageOf(error)}`);
  } finally {
    await db.end().catch(() => undefined);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// One line, no stack trace: what failed is the machine's set-up (tools/preflight.js checks it
// first) or a child process, whose own output is above.
main().catch((error: unknown) => {
  console.error(`[demo] failed: ${messageOf(error)}`);
  process.exit(1);
});
