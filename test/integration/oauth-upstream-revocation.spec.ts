import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { activeRules, basicAuth, postForm } from '../support/oauth-requests';
import { issuersEnv, TestIssuer } from '../support/test-issuer';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

/**
 * How the writer behaves when the identity provider does not: the IdP's endpoints are played by a
 * small HTTP server whose answers each test sets (the real node-oidc-provider is in
 * test/e2e/identity-provider.spec.ts), so that failures can be produced on demand: unreachable,
 * 5xx, a token of another client, an inactive token, a global revocation that fails.
 */
describe('the writer as a client of the identity provider (upstream revocation)', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let idp: TestIssuer;
  let server: Server;
  let base: string;
  const requests: Array<{ path: string; body: string; authorization: string | undefined }> = [];
  let introspection: { status: number; body: unknown } = { status: 200, body: { active: false } };
  let revocationStatus = 200;
  let globalStatuses: number[] = [];
  let app: { clientId: string; clientSecret: string };
  let idpCredential: string;
  let reader: string;

  const read = (request: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => resolve(body));
    });

  beforeAll(async () => {
    server = createServer((request, response) => {
      void read(request).then((body) => {
        requests.push({ path: request.url!, body, authorization: request.headers.authorization });
        const json = (status: number, value?: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(value === undefined ? '' : JSON.stringify(value));
        };
        if (request.url === '/introspect') return json(introspection.status, introspection.body);
        if (request.url === '/revoke') return json(revocationStatus);
        if (request.url === '/global') return json(globalStatuses.shift() ?? 204);
        json(404, {});
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    idp = await TestIssuer.create('https://upstream-idp.example');
    const upstream = {
      clientId: 'rescind',
      clientSecret: 'rescind-secret',
      introspectionEndpoint: `${base}/introspect`,
      revocationEndpoint: `${base}/revoke`,
      globalRevocationEndpoint: `${base}/global`,
      timeoutMs: 500,
      attempts: 2,
    };
    env = await startWriterEnvironment('oauth_upstream', {
      config: {
        ...issuersEnv({ ...idp.inlineConfig(3600), tokenClaims: ['auth_time', 'sid'], upstream }),
        UPSTREAM_POLL_INTERVAL_MS: '50',
        UPSTREAM_MAX_ATTEMPTS: '3',
        UPSTREAM_MAX_BACKOFF_MS: '100',
      },
    });
    writer = env.writer;
    app = await writer.app
      .get(CredentialsRepository)
      .createClient(`app-${randomUUID()}`, 'app', idp.issuer);
    idpCredential = await env.token('workforce-idp', 'idp');
    reader = await env.token('auditor', 'reader');
  });

  afterAll(async () => {
    await env?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
    revocationStatus = 200;
    globalStatuses = [];
  });

  const revoke = (token: string, hint = 'refresh_token') =>
    postForm(
      writer,
      '/oauth/revoke',
      { token, token_type_hint: hint },
      basicAuth(app.clientId, app.clientSecret),
    );
  const paths = () => requests.map((r) => r.path);

  it('introspects, revokes the session here and the refresh token at the IdP, and only then answers 200', async () => {
    const sid = `sid-${randomUUID()}`;
    introspection = {
      status: 200,
      body: { active: true, sub: 'alice', sid, client_id: app.clientId, iss: idp.issuer },
    };
    const response = await revoke(`rt-${randomUUID()}`);
    expect(response.status).toBe(200);
    expect(paths()).toEqual(['/introspect', '/revoke']);
    // As Rescind's own client at the IdP, never the caller's credentials.
    expect(requests[0]!.authorization).toBe(basicAuth('rescind', 'rescind-secret').authorization);
    const [rule] = await activeRules(env.db, 'sid', sid);
    expect(rule).toMatchObject({ iss: idp.issuer, revoked_before: null, source: 'oauth' });
  });

  it('answers 503 when the IdP cannot revoke after its attempts, with the session already revoked here; a retry then succeeds', async () => {
    const sid = `sid-${randomUUID()}`;
    introspection = {
      status: 200,
      body: { active: true, sub: 'bob', sid, client_id: app.clientId },
    };
    revocationStatus = 503;
    const token = `rt-${randomUUID()}`;
    const refused = await revoke(token);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' });
    // attempts: 2, then no more.
    expect(paths()).toEqual(['/introspect', '/revoke', '/revoke']);
    expect(await activeRules(env.db, 'sid', sid)).toHaveLength(1);

    revocationStatus = 200;
    expect((await revoke(token)).status).toBe(200);
    expect(await activeRules(env.db, 'sid', sid)).toHaveLength(1);
  });

  it('answers 503 and writes nothing when introspection fails, and counts the failures', async () => {
    introspection = { status: 500, body: {} };
    const before = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM revocation_rule`,
    );
    const response = await revoke(`rt-${randomUUID()}`);
    expect(response.status).toBe(503);
    expect(paths()).toEqual(['/introspect', '/introspect']);
    const after = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM revocation_rule`,
    );
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const metrics = await (await fetch(`${writer.url}/metrics`)).text();
    expect(metrics).toMatch(
      /rescind_upstream_requests_total\{[^}]*operation="introspect"[^}]*outcome="unavailable"[^}]*\} [1-9]/,
    );
  });

  it('refuses a refresh token of another client (400 unauthorized_client) and one the IdP calls inactive is 200 with nothing written', async () => {
    introspection = {
      status: 200,
      body: { active: true, sub: 'carol', sid: 's', client_id: 'other' },
    };
    const foreign = await revoke(`rt-${randomUUID()}`);
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ error: 'unauthorized_client' });
    expect(paths()).toEqual(['/introspect']);

    requests.length = 0;
    introspection = { status: 200, body: { active: false } };
    expect((await revoke(`rt-${randomUUID()}`)).status).toBe(200);
    expect(paths()).toEqual(['/introspect']);
  });

  it('calls the global revocation endpoint after a grant-wide revocation, retrying with back-off, and audits the outcome', async () => {
    const sub = `user-${randomUUID()}`;
    globalStatuses = [500, 204];
    const response = await fetch(`${writer.url}/global-token-revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${idpCredential}` },
      body: JSON.stringify({ sub_id: { format: 'iss_sub', iss: idp.issuer, sub } }),
    });
    expect(response.status).toBe(204);
    const audited = await waitFor('the upstream call audited', async () => {
      const { rows } = await env.db.query<{ action: string; reason: string; actor: string }>(
        `SELECT action, reason, actor FROM audit_log WHERE action LIKE 'upstream.%' AND reason LIKE $1`,
        [`%${sub}%`],
      );
      return rows[0];
    });
    expect(audited).toMatchObject({ action: 'upstream.revoked', actor: 'system' });
    expect(audited.reason).toMatch(/HTTP 204 after 2 attempt/);
    const calls = requests.filter((r) => r.path === '/global');
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[0]!.body)).toEqual({
      sub_id: { format: 'iss_sub', iss: idp.issuer, sub },
    });
    // The audit read side shows it.
    const listed = await fetch(`${writer.url}/v1/audit?limit=200`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(JSON.stringify(await listed.json())).toContain('upstream.revoked');
  });

  it('gives up on a call the IdP refuses for good, audited as upstream.failed', async () => {
    const sub = `user-${randomUUID()}`;
    globalStatuses = [400];
    const response = await postHrEvent(writer, {
      id: `hr-${randomUUID()}`,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject: sub,
      iss: idp.issuer,
    });
    expect(response.status).toBe(202);
    const audited = await waitFor('the failed call audited', async () => {
      const { rows } = await env.db.query<{ action: string; reason: string }>(
        `SELECT action, reason FROM audit_log WHERE action LIKE 'upstream.%' AND reason LIKE $1`,
        [`%${sub}%`],
      );
      return rows[0];
    });
    expect(audited).toMatchObject({ action: 'upstream.failed' });
    expect(audited.reason).toMatch(/HTTP 400/);
  });
});

describe('refresh tokens without upstream endpoints', () => {
  let env: WriterEnvironment;

  afterAll(() => env?.close());

  it('answers 400 unsupported_token_type to a refresh token, saying why, and writes no rule nothing would enforce', async () => {
    const idp = await TestIssuer.create('https://no-upstream.example');
    env = await startWriterEnvironment('oauth_no_upstream', {
      config: { ...issuersEnv(idp.inlineConfig(3600)), OPAQUE_TOKENS_ENABLED: 'true' },
    });
    const app = await env.writer.app
      .get(CredentialsRepository)
      .createClient(`app-${randomUUID()}`, 'app', idp.issuer);
    const auth = basicAuth(app.clientId, app.clientSecret);
    const refresh = await postForm(
      env.writer,
      '/oauth/revoke',
      { token: 'an-opaque-refresh-token', token_type_hint: 'refresh_token' },
      auth,
    );
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toEqual({
      error: 'unsupported_token_type',
      error_description: expect.stringMatching(/upstream revocationEndpoint/),
    });
    const { rows } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM revocation_rule`,
    );
    expect(rows[0]!.n).toBe(0);
    // An opaque access token is still revoked by its hash when opaque tokens are enabled.
    const access = await postForm(
      env.writer,
      '/oauth/revoke',
      { token: 'an-opaque-access-token' },
      auth,
    );
    expect(access.status).toBe(200);
  });
});
