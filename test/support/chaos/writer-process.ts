import type { TestSchema } from '../postgres';
import { waitFor } from '../wait-for';
import { INGEST_TOKEN } from '../writer';
import { freePort, TsProcess } from './child-process';

/**
 * The writer in a process of its own, started as production starts it (`main.ts`, reading the
 * environment), so that a test can SIGKILL it in the middle of its work. The environment is the
 * one `startWriter` (test/support/writer.ts) hands the in-process writer, over which `env` goes.
 */
export class WriterProcess {
  private constructor(
    private readonly process: TsProcess,
    /** e.g. http://127.0.0.1:41234 */
    readonly url: string,
  ) {}

  /** Starts it and waits until `GET /health/ready` answers 200 (migrated, PostgreSQL up). */
  static async start(
    schema: TestSchema,
    brokers: string[],
    env: Record<string, string> = {},
    name = 'writer',
  ): Promise<WriterProcess> {
    const port = await freePort();
    const child = TsProcess.spawn(name, 'apps/revocation-writer/src/main.ts', {
      LOG_LEVEL: process.env.RESCIND_TEST_LOG_LEVEL ?? 'error',
      DATABASE_URL: schema.url,
      DATABASE_SCHEMA: schema.schema,
      DATABASE_POOL_SIZE: '5',
      KAFKA_BROKERS: brokers.join(','),
      INGEST_BEARER_TOKEN: INGEST_TOKEN,
      OUTBOX_POLL_INTERVAL_MS: '500',
      OUTBOX_MAX_BACKOFF_MS: '1000',
      KAFKA_INGEST_SOURCES: 'none',
      RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '1000000',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    const writer = new WriterProcess(child, `http://127.0.0.1:${port}`);
    try {
      await waitFor(
        `${name} to be ready`,
        async () => {
          child.assertRunning();
          const response = await fetch(`${writer.url}/health/ready`, {
            signal: AbortSignal.timeout(2000),
          });
          return response.status === 200;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
    } catch (error) {
      await child.kill();
      throw error;
    }
    return writer;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Throws, with the end of its stderr (a crash's stack), once it exited. */
  assertRunning(): void {
    this.process.assertRunning();
  }

  /** Null while it runs; once it exited, how, with the end of its stderr (a crash's stack). */
  get exit(): string | null {
    return this.process.exited ? this.process.stderr || '(nothing on stderr)' : null;
  }

  /** SIGKILL: no graceful shutdown, no offset commit, no LeaveGroup. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGTERM (graceful shutdown), SIGKILL if it takes longer than 15 s. */
  stop(): Promise<void> {
    return this.process.stop(15_000);
  }
}
