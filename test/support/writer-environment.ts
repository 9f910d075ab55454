import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import type { Client } from 'pg';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { startTestConsumer } from './consumer';
import { sharedBrokers, type TestTopics } from './kafka';
import { connectToSchema, createTestSchema, type TestSchema } from './postgres';
import { type RunningWriter, startWriter } from './writer';

/** What a test file needs around its writer; everything else is the test defaults of startWriter. */
export interface WriterEnvironmentOptions {
  /**
   * The file's own topics ({@link testTopics}, made in `describe` so their names are known there),
   * created here and named in every writer's environment. None: the writer's default topic names.
   */
  topics?: TestTopics;
  /** Default: the run's shared broker. */
  brokers?: string[];
  /** Writer environment over startWriter's test defaults and the topics' names. */
  config?: Record<string, string>;
  /** Start a writer at once (default). `false`: the test starts its own with `startWriter()`. */
  writer?: boolean;
  /**
   * Writers reach PostgreSQL through a TCP proxy the test can cut (`postgresProxy`); they give up
   * a connection attempt after 500 ms, so a cut shows within the test's waits.
   */
  postgresProxy?: boolean;
  /** A connected Kafka producer on the brokers. */
  producer?: boolean;
  /** A connected Kafka admin client on the brokers. */
  admin?: boolean;
  /** An enforcement point on the invalidation topic, started and caught up. */
  consumer?: boolean;
}

/** Handles on what {@link startWriterEnvironment} started; `close()` closes them all. */
export interface WriterEnvironment {
  brokers: string[];
  schema: TestSchema;
  /** A client on the test schema (not through the proxy), to count and read rows. */
  db: Client;
  /** The writer started at once (absent with `writer: false`). */
  writer: RunningWriter;
  postgresProxy: TcpProxy;
  producer: Producer;
  admin: Admin;
  consumer: RevocationConsumer;
  /**
   * Another writer on the same schema, topics and route to PostgreSQL, with `config` over the
   * environment's; `close()` stops it unless the test did.
   */
  startWriter(config?: Record<string, string>): Promise<RunningWriter>;
  /** A bearer token of a new API credential (`iss`: bound to that issuer). */
  token(name: string, role: Role, iss?: string): Promise<string>;
  /** Has `close()` stop `resource` too, before what the environment started itself. */
  adopt<T extends { stop(): Promise<unknown> }>(resource: T): T;
  /** Stops and drops everything, last started first; safe after a partial start. */
  close(): Promise<void>;
}

/**
 * The writer of one test file with what its tests drive it with: its own schema (migrated by
 * the writer), optionally its own topics, Kafka clients and an enforcement point. If a step
 * fails, what started before it is closed again, so a failed `beforeAll` leaves no open handles.
 *
 * @example
 * const topics = testTopics('ssf');
 * let env: WriterEnvironment;
 * beforeAll(async () => {
 *   env = await startWriterEnvironment('ssf', { topics, consumer: true, config: { CUSTOM_RULE_CLAIMS: 'email' } });
 * });
 * afterAll(() => env?.close());
 */
export async function startWriterEnvironment(
  prefix: string,
  options: WriterEnvironmentOptions = {},
): Promise<WriterEnvironment> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    // Every closer runs even when one fails: a failed one must not leave the others open.
    const failures: unknown[] = [];
    for (let closer = closers.pop(); closer; closer = closers.pop()) {
      await closer().catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `closing the writer environment: ${failures.join('; ')}`);
    }
  };
  const adopt = <T extends { stop(): Promise<unknown> }>(resource: T): T => {
    closers.push(() => resource.stop());
    return resource;
  };
  try {
    const brokers = options.brokers ?? sharedBrokers();
    await options.topics?.create(brokers);
    const schema = await createTestSchema(prefix);
    closers.push(() => schema.drop());
    const postgresProxy = options.postgresProxy ? adopt(await proxyTo(schema.url)) : undefined;
    const writerSchema = postgresProxy ? through(schema, postgresProxy) : schema;
    const baseConfig = {
      ...options.topics?.writerEnv,
      ...(postgresProxy && { DATABASE_CONNECT_TIMEOUT_MS: '500' }),
      ...options.config,
    };
    const startAnotherWriter = async (config: Record<string, string> = {}) =>
      adopt(await startWriter(writerSchema, brokers, { ...baseConfig, ...config }));
    const writer = options.writer === false ? undefined : await startAnotherWriter();
    const db = await connectToSchema(schema);
    closers.push(() => db.end());
    const kafka = new Kafka({ brokers, clientId: 'test-producer', logLevel: logLevel.NOTHING });
    const producer = options.producer ? kafka.producer() : undefined;
    if (producer) {
      await producer.connect();
      closers.push(() => producer.disconnect());
    }
    const admin = options.admin ? kafka.admin() : undefined;
    if (admin) {
      await admin.connect();
      closers.push(() => admin.disconnect());
    }
    const consumer = options.consumer
      ? adopt(
          await startTestConsumer(brokers, {
            ...(options.topics && { topic: options.topics.names.invalidations }),
          }),
        )
      : undefined;
    return {
      brokers,
      schema,
      db,
      get writer() {
        return present('writer', writer);
      },
      get postgresProxy() {
        return present('postgresProxy', postgresProxy);
      },
      get producer() {
        return present('producer', producer);
      },
      get admin() {
        return present('admin', admin);
      },
      get consumer() {
        return present('consumer', consumer);
      },
      startWriter: startAnotherWriter,
      async token(name, role, iss) {
        const credentials = present('writer', writer).app.get(CredentialsRepository);
        return (await credentials.createCredential(name, role, iss)).token;
      },
      adopt,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

function present<T>(handle: string, value: T | undefined): T {
  if (value === undefined) {
    throw new Error(`no ${handle} in this writer environment: ask startWriterEnvironment for one`);
  }
  return value;
}

/** A proxy in front of the PostgreSQL at `url`. */
function proxyTo(url: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(url);
  return TcpProxy.start(hostname, Number(port || 5432));
}

/** `schema` as reached through `proxy`. */
function through(schema: TestSchema, proxy: TcpProxy): TestSchema {
  const url = new URL(schema.url);
  url.port = String(proxy.port);
  return { ...schema, url: url.toString() };
}
