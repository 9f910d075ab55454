import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL every machine runs for tests (trust auth); override with TEST_DATABASE_URL. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function assertPostgresReachable(): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${String(error)}); start it or set TEST_DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema of its own for one test file; the writer's migrations create everything inside it. */
export interface TestSchema {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

export async function createTestSchema(prefix = 't'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return {
    url: TEST_DATABASE_URL,
    schema,
    async drop() {
      const c = new Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A client whose search_path is the test schema, for asserting on rows directly. */
export async function connectToSchema(schema: TestSchema): Promise<Client> {
  const client = new Client({
    connectionString: schema.url,
    options: `-c search_path=${schema.schema}`,
  });
  await client.connect();
  return client;
}

/** Rows in every table a revocation writes to: a dry run must leave them all unchanged. */
export async function rowCounts(db: Client) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM revocation_rule) AS rules, (SELECT count(*) FROM outbox) AS outbox,
            (SELECT count(*) FROM audit_log) AS audit, (SELECT count(*) FROM processed_event) AS events`,
  );
  const r = rows[0]!;
  return {
    rules: Number(r.rules),
    outbox: Number(r.outbox),
    audit: Number(r.audit),
    events: Number(r.events),
  };
}
