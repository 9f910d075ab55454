import { createHash } from 'node:crypto';
import type { RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import { runCli } from '../../apps/revocation-writer/src/admin/admin-commands';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { RulePruner } from '../../apps/revocation-writer/src/write-path/rule-pruner';
import type { TestSchema } from '../support/postgres';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const termination = (id: string, subject: string) => ({
  id,
  type: 'employee.terminated',
  occurredAt: '2026-11-20T10:00:00Z',
  subject,
});

function post(writer: RunningWriter, token: string, body: unknown): Promise<Response> {
  return fetch(`${writer.url}/v1/events/hr`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

describe('API credentials, expiry and rate limits', () => {
  const topics = testTopics('credentialsa');
  let environment: WriterEnvironment;
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  let consumer: RevocationConsumer;
  const env = (): Record<string, string> => ({
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
  });

  beforeAll(async () => {
    environment = await startWriterEnvironment('creds', { topics, consumer: true });
    ({ schema, writer, db, consumer } = environment);
  });

  afterAll(() => environment?.close());

  it('authenticates a credential created with the admin CLI, stores only its hash, and records the actor', async () => {
    const created = JSON.parse(
      await runCli(['credential', 'create', '--name', 'workday', '--role', 'hr'], env()),
    ) as {
      id: string;
      token: string;
    };
    expect(created.token).toMatch(/^rsk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

    const response = await post(writer, created.token, termination('cred-1', 'gina'));
    expect(response.status).toBe(202);
    const { rows } = await db.query<{ actor: string; actor_role: string }>(
      `SELECT actor, actor_role FROM audit_log WHERE source_event_id = 'cred-1'`,
    );
    expect(rows).toEqual([{ actor: created.id, actor_role: 'hr' }]);
    // The secret itself may contain '_' (base64url): take everything after the id.
    const secret = created.token.slice(`rsk_${created.id}_`.length);
    const { rows: stored } = await db.query<{ secret_sha256: string }>(
      `SELECT secret_sha256 FROM api_credential WHERE id = $1`,
      [created.id],
    );
    expect(stored).toEqual([{ secret_sha256: createHash('sha256').update(secret).digest('hex') }]);
    const { rowCount } = await db.query(
      `SELECT 1 FROM api_credential WHERE strpos(secret_sha256, $1) > 0 OR strpos(name, $1) > 0`,
      [secret],
    );
    expect(rowCount).toBe(0);
  });

  it('refuses a role without the ingest permission (403) and a disabled or forged credential (401)', async () => {
    const reader = JSON.parse(
      await runCli(['credential', 'create', '--name', 'auditor', '--role', 'reader'], env()),
    ) as {
      token: string;
    };
    const forbidden = await post(writer, reader.token, termination('cred-2', 'hank'));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ code: 'forbidden' });

    const forged = `${reader.token.slice(0, -4)}AAAA`;
    expect((await post(writer, forged, termination('cred-3', 'hank'))).status).toBe(401);

    // Disabled by another process (the CLI): refused within the cache bound (AUTH_CACHE_TTL_MS).
    await runCli(['credential', 'disable', '--name', 'auditor'], env());
    const disabledAt = Date.now();
    await waitFor(
      'the disabled credential to be refused',
      async () => (await post(writer, reader.token, termination('cred-4', 'hank'))).status === 401,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(Date.now() - disabledAt).toBeLessThan(writer.config.auth.cacheTtlMs + 1000);
  });

  it('trusts a credential it read for at most AUTH_CACHE_TTL_MS, and a change it made itself at once', async () => {
    const cached = await environment.startWriter({ AUTH_CACHE_TTL_MS: '1500' });
    const created = JSON.parse(
      await runCli(['credential', 'create', '--name', 'bamboohr', '--role', 'hr'], env()),
    ) as { token: string };
    expect((await post(cached, created.token, termination('cache-1', 'ivan'))).status).toBe(202);
    await runCli(['credential', 'disable', '--name', 'bamboohr'], env());
    const disabledAt = Date.now();
    // Read before the change, within the bound: still trusted (no PostgreSQL read per request).
    expect((await post(cached, created.token, termination('cache-2', 'ivan'))).status).toBe(202);
    await waitFor(
      'the disabled credential to be refused',
      async () =>
        (await post(cached, created.token, termination('cache-3', 'ivan'))).status === 401,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(Date.now() - disabledAt).toBeLessThan(1500 + 500);

    // Disabled through this writer: refused at once, whatever it had read.
    const other = JSON.parse(
      await runCli(['credential', 'create', '--name', 'personio', '--role', 'hr'], env()),
    ) as { token: string };
    expect((await post(cached, other.token, termination('cache-4', 'judy'))).status).toBe(202);
    await cached.app.get(CredentialsRepository).disableCredential('personio');
    expect((await post(cached, other.token, termination('cache-5', 'judy'))).status).toBe(401);
    await cached.stop();
  });

  it('restricts every rule of a credential created for one issuer to that issuer', async () => {
    const A = 'https://idp-a.example';
    const B = 'https://idp-b.example';
    const created = JSON.parse(
      await runCli(
        ['credential', 'create', '--name', 'hr-of-a', '--role', 'hr', '--issuer', A],
        env(),
      ),
    ) as { id: string; issuer: string; token: string; warning?: string };
    expect(created.issuer).toBe(A);
    expect(created.warning).toMatch(/ISSUERS is not set/);

    // An event naming no issuer revokes the user at the credential's issuer only.
    expect((await post(writer, created.token, termination('iss-1', 'dora'))).status).toBe(202);
    const { rows } = await db.query<{ iss: string | null }>(
      `SELECT iss FROM revocation_rule WHERE value = 'dora'`,
    );
    expect(rows).toEqual([{ iss: A }]);
    await waitFor(
      'the rule at the consumer',
      () => consumer.check({ sub: 'dora', iss: A, iat: 1_700_000_000 }).revoked,
    );
    expect(consumer.check({ sub: 'dora', iss: B, iat: 1_700_000_000 }).revoked).toBe(false);

    // Another issuer's user: refused, nothing written.
    const refused = await post(writer, created.token, { ...termination('iss-2', 'erin'), iss: B });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain(
      `acts for issuer "${A}" and may not revoke tokens of "${B}"`,
    );
    const erin = await db.query(`SELECT 1 FROM revocation_rule WHERE value = 'erin'`);
    expect(erin.rowCount).toBe(0);

    // With ISSUERS configured, the issuer must be one of them.
    const trusted = JSON.stringify([{ issuer: A, jwksUri: 'https://idp-a.example/jwks' }]);
    await expect(
      runCli(['credential', 'create', '--name', 'hr-of-c', '--role', 'hr', '--issuer', B], {
        ...env(),
        ISSUERS: trusted,
      }),
    ).rejects.toThrow(`unknown issuer "${B}"`);
  });

  it('expires a rule once its tokens have expired and publishes a tombstone, which a consumer applies only to what has expired by its own clock', async () => {
    const token = JSON.parse(
      await runCli(['credential', 'create', '--name', 'bamboo', '--role', 'hr'], env()),
    ) as {
      token: string;
    };
    expect((await post(writer, token.token, termination('expiry-1', 'ivan'))).status).toBe(202);
    await waitFor(
      'ivan revoked at the consumer',
      () => consumer.check({ sub: 'ivan', iat: 0 }).revoked,
    );

    // Time travel for the test: the rule's tokens are all expired now.
    await db.query(
      `UPDATE revocation_rule SET expires_at = now() - interval '1 second' WHERE value = 'ivan'`,
    );
    expect(await writer.app.get(RulePruner).pruneAll()).toBe(1);

    const { rows } = await db.query<{ status: string; removed_at: Date | null }>(
      `SELECT status, removed_at FROM revocation_rule WHERE value = 'ivan'`,
    );
    expect(rows[0]).toEqual({ status: 'expired', removed_at: expect.any(Date) });
    const audit = await db.query(
      `SELECT actor FROM audit_log WHERE action = 'rule.expired' AND rule_key = 'sub::ivan'`,
    );
    expect(audit.rows).toEqual([{ actor: 'system:pruner' }]);
    // The rule the consumer holds still has its original expiresAt (only the database travelled
    // in time): a tombstone carries no seq, so the consumer keeps a version that has not expired
    // by its clock (it drops it itself when it does), and counts the tombstone as ignored.
    await waitFor(
      'the tombstone at the consumer',
      () => consumer.status().tombstones.ignored === 1,
    );
    expect(consumer.check({ sub: 'ivan', iat: 0 }).revoked).toBe(true);
    expect(await writer.app.get(RulePruner).pruneAll()).toBe(0);
  });
});

describe('rate limits', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;

  beforeAll(async () => {
    env = await startWriterEnvironment('limits', { config: { RATE_LIMIT_PER_IP_PER_MINUTE: '5' } });
    ({ writer } = env);
  });

  afterAll(() => env?.close());

  it('answers 429 problem+json with Retry-After past the per-address limit, and never limits health or metrics', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await fetch(`${writer.url}/v1/events/hr`, { method: 'POST' });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await last!.json()).toMatchObject({ status: 429, retriable: true });
    // Probes and scrapes come from one address, often: none of them may ever be limited.
    for (let i = 0; i < 7; i++) {
      expect((await fetch(`${writer.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${writer.url}/metrics`)).status).toBe(200);
    }
  });
});
