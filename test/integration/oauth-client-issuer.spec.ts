import { createHash, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { runCli } from '../../apps/revocation-writer/src/admin/admin-commands';
import { sha256Hex } from '../../apps/revocation-writer/src/auth/secrets';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import {
  dataSourceOptions,
  MIGRATIONS,
} from '../../apps/revocation-writer/src/database/data-source';
import { OAuthClientIssuer1764115200000 } from '../../apps/revocation-writer/src/database/migrations/1764115200000-oauth-client-issuer';
import { activeRules, basicAuth, postForm } from '../support/oauth-requests';
import { connectToSchema, createTestSchema, rowCounts, type TestSchema } from '../support/postgres';
import { issuersEnv, TestIssuer } from '../support/test-issuer';
import { waitFor } from '../support/wait-for';
import { type RunningWriter, startWriter } from '../support/writer';

const brokers = (): string[] => process.env.RESCIND_TEST_KAFKA_BROKERS!.split(',');

interface CliClient {
  clientId: string;
  issuer: string;
  clientSecret: string;
  warning?: string;
}

const revoke = (
  writer: RunningWriter,
  client: { clientId: string; clientSecret: string },
  token: string,
) => postForm(writer, '/oauth/revoke', { token }, basicAuth(client.clientId, client.clientSecret));

async function expectUnauthorizedClient(response: Response): Promise<void> {
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({
    error: 'unauthorized_client',
    error_description: expect.any(String),
  });
}

describe('OAuth clients bound to one issuer (RFC 7009 §2.1)', () => {
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  let issuerA: TestIssuer;
  let issuerB: TestIssuer;
  /** What the admin CLI reads: the writer's database and trusted issuers. */
  let cliEnv: Record<string, string>;

  const createClient = async (clientId: string, issuer: string): Promise<CliClient> =>
    JSON.parse(
      await runCli(
        ['client', 'create', '--client-id', clientId, '--name', clientId, '--issuer', issuer],
        cliEnv,
      ),
    ) as CliClient;

  beforeAll(async () => {
    schema = await createTestSchema('oauth_client_iss');
    issuerA = await TestIssuer.create();
    issuerB = await TestIssuer.create();
    const issuers = issuersEnv(issuerA.inlineConfig(), issuerB.inlineConfig());
    writer = await startWriter(schema, brokers(), { ...issuers, OPAQUE_TOKENS_ENABLED: 'true' });
    db = await connectToSchema(schema);
    cliEnv = { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema, ...issuers };
  });

  afterAll(async () => {
    await db?.end();
    await writer?.stop();
    await schema?.drop();
  });

  it("refuses issuer B's token carrying the id of issuer A's client, writing nothing, and revokes A's", async () => {
    const clientId = `web-app-${randomUUID()}`;
    const client = await createClient(clientId, issuerA.issuer);
    expect(client).toEqual({
      clientId,
      issuer: issuerA.issuer,
      clientSecret: expect.any(String),
      note: expect.any(String),
    });
    const sid = `sid-${randomUUID()}`;
    // Another application, registered at issuer B under the same client id.
    const ofB = await issuerB.sign({ sub: 'mallory-victim', client_id: clientId, sid });
    const before = await rowCounts(db);

    await expectUnauthorizedClient(await revoke(writer, client, ofB));
    expect(await rowCounts(db)).toEqual(before);
    expect(await activeRules(db, 'sid', sid)).toEqual([]);

    const ofA = await issuerA.sign({ sub: 'alice', client_id: clientId, sid });
    const response = await revoke(writer, client, ofA);
    expect(response.status).toBe(200);
    expect(await activeRules(db, 'sid', sid)).toEqual([
      expect.objectContaining({ iss: issuerA.issuer, revoked_before: null, source: 'oauth' }),
    ]);
  });

  it('revokes an opaque token by its hash for any issuer, as before: holding it is enough', async () => {
    const client = await createClient(`cli-${randomUUID()}`, issuerB.issuer);
    const opaque = `opaque-${randomUUID()}`;
    expect((await revoke(writer, client, opaque)).status).toBe(200);
    const hash = createHash('sha256').update(opaque).digest('base64url');
    expect(await activeRules(db, 'token_hash', hash)).toEqual([
      expect.objectContaining({ iss: null, source: 'oauth' }),
    ]);
  });

  it('refuses to register a client for an issuer that is not trusted, and stores nothing', async () => {
    const clientId = `typo-${randomUUID()}`;
    await expect(createClient(clientId, 'https://idp.example.con')).rejects.toThrow(
      /unknown issuer "https:\/\/idp\.example\.con": ISSUERS trusts/,
    );
    const { rows } = await db.query(`SELECT 1 FROM oauth_client WHERE client_id = $1`, [clientId]);
    expect(rows).toEqual([]);
  });

  it('refuses a second client with the same client id, whatever its issuer', async () => {
    const clientId = `taken-${randomUUID()}`;
    await createClient(clientId, issuerA.issuer);
    await expect(createClient(clientId, issuerB.issuer)).rejects.toThrow(/already registered/);
    const { rows } = await db.query(`SELECT issuer FROM oauth_client WHERE client_id = $1`, [
      clientId,
    ]);
    expect(rows).toEqual([{ issuer: issuerA.issuer }]);
  });

  it('registers a client without checking the issuer where ISSUERS is not set, and says so', async () => {
    const clientId = `unchecked-${randomUUID()}`;
    const output = JSON.parse(
      await runCli(
        ['client', 'create', '--client-id', clientId, '--name', 'x', '--issuer', issuerA.issuer],
        { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema },
      ),
    ) as CliClient;
    expect(output).toMatchObject({ clientId, issuer: issuerA.issuer });
    expect(output.warning).toMatch(/ISSUERS/);
  });

  it('requires --issuer', async () => {
    await expect(
      runCli(['client', 'create', '--client-id', `c-${randomUUID()}`, '--name', 'x'], cliEnv),
    ).rejects.toThrow(/missing --issuer/);
  });
});

describe('the oauth_client issuer migration on a schema that already has clients', () => {
  let schema: TestSchema;
  let db: Client;
  let issuerA: TestIssuer;
  let issuerB: TestIssuer;
  const legacy = { clientId: `legacy-${randomUUID()}`, clientSecret: `secret-${randomUUID()}` };

  beforeAll(async () => {
    schema = await createTestSchema('oauth_client_mig');
    issuerA = await TestIssuer.create();
    issuerB = await TestIssuer.create();
    // The schema as it was before the migration, with a client registered then.
    const before = MIGRATIONS.filter((m) => m !== OAuthClientIssuer1764115200000);
    const config = loadConfig({
      DATABASE_URL: schema.url,
      DATABASE_SCHEMA: schema.schema,
      INGEST_AUTH_DISABLED: 'true',
    });
    const dataSource = new DataSource({
      ...dataSourceOptions(config.database, 1),
      migrations: before,
    });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      await dataSource.query(
        `INSERT INTO oauth_client (client_id, name, secret_sha256) VALUES ($1, 'legacy', $2)`,
        [legacy.clientId, sha256Hex(legacy.clientSecret)],
      );
    } finally {
      await dataSource.destroy();
    }
    db = await connectToSchema(schema);
  });

  afterAll(async () => {
    await db?.end();
    await schema?.drop();
  });

  it('keeps the client with no issuer; it revokes JWTs only while exactly one issuer is trusted', async () => {
    // The writer applies the pending migration at start-up.
    const single = await startWriter(schema, brokers(), issuersEnv(issuerA.inlineConfig()));
    try {
      const { rows } = await db.query(`SELECT client_id, issuer FROM oauth_client`);
      expect(rows).toEqual([{ client_id: legacy.clientId, issuer: null }]);
      const sid = `sid-${randomUUID()}`;
      const token = await issuerA.sign({ client_id: legacy.clientId, sid });
      expect((await revoke(single, legacy, token)).status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toHaveLength(1);
    } finally {
      await single.stop();
    }

    const issuers = issuersEnv(issuerA.inlineConfig(), issuerB.inlineConfig());
    const several = await startWriter(schema, brokers(), issuers);
    try {
      const sid = `sid-${randomUUID()}`;
      const token = await issuerA.sign({ client_id: legacy.clientId, sid });
      const before = await rowCounts(db);
      await expectUnauthorizedClient(await revoke(several, legacy, token));
      expect(await rowCounts(db)).toEqual(before);

      // The operator binds it; then it revokes its issuer's tokens, and only those.
      const env = { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema, ...issuers };
      const bound = await runCli(
        ['client', 'bind', '--client-id', legacy.clientId, '--issuer', issuerA.issuer],
        env,
      );
      expect(JSON.parse(bound)).toEqual({ clientId: legacy.clientId, issuer: issuerA.issuer });
      // Bound by another process (the CLI): this writer reads it within AUTH_CACHE_TTL_MS.
      const boundAt = Date.now();
      await waitFor(
        'the binding to be read',
        async () => (await revoke(several, legacy, token)).status === 200,
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(Date.now() - boundAt).toBeLessThan(several.config.auth.cacheTtlMs + 1000);
      expect(await activeRules(db, 'sid', sid)).toHaveLength(1);
      const ofB = await issuerB.sign({ client_id: legacy.clientId, sid: `sid-${randomUUID()}` });
      await expectUnauthorizedClient(await revoke(several, legacy, ofB));

      await expect(
        runCli(['client', 'bind', '--client-id', legacy.clientId, '--issuer', issuerB.issuer], env),
      ).rejects.toThrow(/is bound to/);
      await expect(
        runCli(
          ['client', 'bind', '--client-id', 'no-such-client', '--issuer', issuerB.issuer],
          env,
        ),
      ).rejects.toThrow(/no OAuth client/);
    } finally {
      await several.stop();
    }
  });
});
