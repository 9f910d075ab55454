import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import { testTopics, type TestTopics } from './kafka';
import type { TestSchema } from './postgres';
import type { RunningWriter } from './writer';
import { startWriterEnvironment } from './writer-environment';

/** A bearer API credential per role, as the operator API is used. */
export type Tokens = Record<Role, string>;

export interface OperatorHarness {
  /** This harness's topics on the shared broker. */
  topics: TestTopics;
  brokers: string[];
  schema: TestSchema;
  writer: RunningWriter;
  /** A client on the test schema, to count and read rows. */
  db: Client;
  tokens: Tokens;
  /** Credential id of each role's token: the `actor` in the audit log. */
  actors: Record<Role, string>;
  /** An enforcement point on this harness's broker, started and caught up. */
  consumer(): Promise<RevocationConsumer>;
  stop(): Promise<void>;
}

const ROLES: Role[] = ['hr', 'idp', 'siem', 'operator', 'admin', 'reader', 'introspector'];

/**
 * A writer of its own for one test file: its own topics on the shared broker (so no other file's
 * rules, with their own seqs, reach its consumers), its own schema, and one API credential per
 * role.
 */
export async function startOperatorHarness(
  prefix: string,
  env: Record<string, string> = {},
): Promise<OperatorHarness> {
  const topics = testTopics(prefix, { partitions: 3 });
  const environment = await startWriterEnvironment(prefix, { topics, config: env });
  const { brokers, schema, writer, db } = environment;
  const tokens = {} as Tokens;
  const actors = {} as Record<Role, string>;
  try {
    const credentials = writer.app.get(CredentialsRepository);
    for (const role of ROLES) {
      const { id, token } = await credentials.createCredential(`${prefix}-${role}`, role);
      tokens[role] = token;
      actors[role] = id;
    }
  } catch (error) {
    await environment.close();
    throw error;
  }
  return {
    topics,
    brokers,
    schema,
    writer,
    db,
    tokens,
    actors,
    async consumer() {
      // Adopted before it starts: stop() stops it even if it never became ready.
      const consumer = environment.adopt(
        createRevocationConsumer({
          brokers,
          topic: topics.names.invalidations,
          groupIdPrefix: `${prefix}-enforcement-point`,
          sessionTimeoutMs: 6000,
          heartbeatIntervalMs: 500,
          maxWaitTimeMs: 50,
        }),
      );
      await consumer.start();
      await consumer.ready();
      return consumer;
    },
    stop: () => environment.close(),
  };
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** One HTTP call to the writer with a bearer token; JSON in, JSON (or text) out. */
export async function call<T = unknown>(
  writer: RunningWriter,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${writer.url}${path}`, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const body = (/json/.test(type) && !/ndjson/.test(type) ? JSON.parse(text) : text) as T;
  return { status: response.status, headers: response.headers, body };
}

const SECOND = 1000;
/** When the test file started, on a whole second: instants relative to it stay in the past. */
const START = Math.floor(Date.now() / SECOND) * SECOND;

/**
 * An RFC 3339 instant `hours` before the test started, as the API renders it (UTC, ms). Relative,
 * so it is never in the future whatever the clock says, and rules on it (which expire one token
 * lifetime, a day, later) stay active for the whole run when `hours` is below 24.
 */
export const hoursAgo = (hours: number): string =>
  new Date(START - hours * 3_600_000).toISOString();

/** `instant` plus `hours`, rendered the same way. */
export const plusHours = (instant: string, hours: number): string =>
  new Date(Date.parse(instant) + hours * 3_600_000).toISOString();
