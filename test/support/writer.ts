import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createWriterApp } from '../../apps/revocation-writer/src/bootstrap';
import { loadConfig, type WriterConfig } from '../../apps/revocation-writer/src/config/config';
import type { TestSchema } from './postgres';

export const INGEST_TOKEN = 'test-ingest-token-0123456789abcdef0123456789';

export interface RunningWriter {
  app: NestFastifyApplication;
  url: string;
  config: WriterConfig;
  /** Closes the app; again, it returns the same promise. */
  stop(): Promise<void>;
}

/** Boots the real writer on an ephemeral port against the test schema and broker. */
export async function startWriter(
  schema: TestSchema,
  kafkaBrokers: string[],
  env: Record<string, string> = {},
): Promise<RunningWriter> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.RESCIND_TEST_LOG_LEVEL ?? 'error',
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
    DATABASE_POOL_SIZE: '5',
    KAFKA_BROKERS: kafkaBrokers.join(','),
    INGEST_BEARER_TOKEN: INGEST_TOKEN,
    OUTBOX_POLL_INTERVAL_MS: '500',
    OUTBOX_MAX_BACKOFF_MS: '1000',
    // Input topics are consumed only by the tests about them.
    KAFKA_INGEST_SOURCES: 'none',
    // Tests fire many requests from one address; the rate-limit test sets its own limits.
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '1000000',
    ...env,
  });
  const app = await createWriterApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  let closed: Promise<void> | undefined;
  return {
    app,
    url,
    config,
    // Once: a test that stops its writer early leaves it to the harness's teardown as well.
    stop: () => (closed ??= app.close()),
  };
}

/** POSTs an HR event with the test bearer token. */
export async function postHrEvent(
  writer: RunningWriter,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${writer.url}/v1/events/hr`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${INGEST_TOKEN}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** An HR `employee.terminated` event for `subject` at issuer `iss`, occurring now. */
export function termination(id: string, subject: string, iss: string) {
  return { id, type: 'employee.terminated', occurredAt: new Date().toISOString(), subject, iss };
}
