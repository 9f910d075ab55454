import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { loadGatewayConfig } from '../../apps/example-gateway/src/config/config';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { type RunningGateway, startGateway } from '../support/gateway';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { TestIssuer } from '../support/test-issuer';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

const AUDIENCE = 'https://api.example.test';
const REVOKED_HEADER = 'Bearer error="invalid_token", error_description="token revoked"';

interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/**
 * The example enforcement point as a user runs it: JWTs of a real (test) issuer verified
 * against its JWKS, revocations from HR through the writer, PostgreSQL, the outbox relay and a
 * Kafka-protocol broker into the gateway's local deny-list.
 */
describe('example gateway, end to end', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let gateway: RunningGateway;
  let issuer: TestIssuer;

  async function terminate(id: string, subject: string): Promise<number> {
    const response = await postHrEvent(writer, {
      id,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject,
      iss: issuer.issuer,
    });
    const acceptedAt = Date.now();
    expect(response.status).toBe(202);
    return acceptedAt;
  }

  async function whoami(token?: string): Promise<Answer> {
    const response = await fetch(`${gateway.url}/api/whoami`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return {
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  async function revocationStatus(): Promise<{
    ready: boolean;
    stale: boolean;
    policy: string;
    decisions: Record<string, number>;
  }> {
    const response = await fetch(`${gateway.url}/health/revocations`);
    expect(response.status).toBe(200);
    return (await response.json()) as Awaited<ReturnType<typeof revocationStatus>>;
  }

  const checks = async (): Promise<number> =>
    Object.values((await revocationStatus()).decisions).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    // A broker of our own: the last test takes it down.
    broker = await startOwnBroker(3);
    schema = await createTestSchema('gateway');
    writer = await startWriter(schema, broker.brokers, { HEARTBEAT_INTERVAL_MS: '200' });
    issuer = await TestIssuer.create();
    const reader = await writer.app
      .get(CredentialsRepository)
      .createCredential('example-gateway', 'reader');
    // Terminated before the gateway starts: it can only know from the snapshot.
    await terminate('hr-before-start', 'mallory');

    gateway = await startGateway({
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_MAX_WAIT_MS: '50',
      JWKS: JSON.stringify(issuer.jwks),
      ISSUER: issuer.issuer,
      AUDIENCE,
      JWT_ALGORITHMS: 'ES256',
      RESCIND_SNAPSHOT_URL: `${writer.url}/v1/deny-list/snapshot`,
      RESCIND_TOKEN: reader.token,
      STALENESS_POLICY: 'fail-closed',
      MAX_STALENESS_MS: '1500',
    });
    await waitFor(
      'the gateway to be ready',
      async () => (await fetch(`${gateway.url}/health/ready`)).status === 200,
    );
  });

  afterAll(async () => {
    await gateway?.stop();
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
    await issuer?.close();
  });

  it('serves a valid token: GET /api/whoami answers 200 with its verified claims', async () => {
    const token = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    const answer = await whoami(token);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      sub: 'alice',
      iss: issuer.issuer,
      aud: AUDIENCE,
      kid: issuer.kid,
    });
    expect(await revocationStatus()).toMatchObject({
      ready: true,
      stale: false,
      policy: 'fail-closed',
    });
  });

  it('refuses from the start a token whose subject was terminated before the gateway started (snapshot)', async () => {
    const answer = await whoami(await issuer.sign({ sub: 'mallory', aud: AUDIENCE }));
    expect(answer).toMatchObject({ status: 401, wwwAuthenticate: REVOKED_HEADER });
  });

  describe('after an HR termination of the token subject', () => {
    let acceptedAt: number;
    let oldToken: string;

    it('answers 401 invalid_token "token revoked" to the same token that was served before', async () => {
      oldToken = await issuer.sign({ sub: 'bob', aud: AUDIENCE });
      expect((await whoami(oldToken)).status).toBe(200);
      acceptedAt = await terminate('hr-bob', 'bob');
      const answer = await waitFor('the gateway to refuse the old token', async () => {
        const a = await whoami(oldToken);
        return a.status === 401 ? a : undefined;
      });
      process.stdout.write(
        `\n  writer 202 -> gateway answers 401 token revoked: ${Date.now() - acceptedAt} ms\n`,
      );
      expect(answer.wwwAuthenticate).toBe(REVOKED_HEADER);
      expect(answer.body).toMatchObject({ status: 401, code: 'token_revoked' });
    });

    it('refuses a token issued after the termination too (blocked until reinstated), and serves another subject', async () => {
      // iat is in whole seconds: the first second that is not before the termination.
      const later = Math.ceil(acceptedAt / 1000);
      const newToken = await issuer.sign({
        sub: 'bob',
        aud: AUDIENCE,
        iat: later,
        auth_time: later,
      });
      expect((await whoami(newToken)).status).toBe(401);
      const someoneElse = await issuer.sign({ sub: 'carol', aud: AUDIENCE, iat: later });
      const answer = await whoami(someoneElse);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ sub: 'carol' });
      expect((await whoami(oldToken)).status).toBe(401);
    });

    it("serves the consumer's metrics for Prometheus at GET /metrics: decisions, rules, staleness", async () => {
      const response = await fetch(`${gateway.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      // The refusals above were the consumer's decisions, counted by outcome.
      const revoked =
        /^rescind_consumer_decisions_total\{[^}]*outcome="revoked"[^}]*\} (\d+)$/m.exec(text);
      expect(Number(revoked?.[1])).toBeGreaterThanOrEqual(2);
      expect(Number(/^rescind_consumer_rules\{[^}]*\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
      expect(text).toMatch(/^rescind_consumer_staleness_seconds\{[^}]*\} [\d.e-]+$/m);
      expect(text).toMatch(/^rescind_consumer_propagation_latency_seconds_count\{[^}]*\} [1-9]/m);
      expect(/^target_info\{([^}]*)\} 1$/m.exec(text)?.[1]).toMatch(
        /(^|,)service_name="rescind-example-gateway"(,|$)/,
      );
    });

    it('answers 401 to a token with a bad signature before the deny-list is consulted', async () => {
      const forger = await TestIssuer.forgerOf(issuer);
      const forged = await forger.sign({ sub: 'bob', aud: AUDIENCE });
      const before = await checks();
      const answer = await whoami(forged);
      expect(answer).toMatchObject({
        status: 401,
        wwwAuthenticate:
          'Bearer error="invalid_token", error_description="signature verification failed"',
      });
      expect(answer.body).toMatchObject({ code: 'invalid_token' });
      // No check() ran for it: the deny-list (which would say "revoked") was never asked.
      expect(await checks()).toBe(before);
      // The same count moves for a genuine token.
      expect((await whoami(await issuer.sign({ sub: 'carol', aud: AUDIENCE }))).status).toBe(200);
      expect(await checks()).toBe(before + 1);
    });
  });

  it('answers 401 without a token, and to an expired or foreign-audience token', async () => {
    expect(await whoami()).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
    const now = Math.floor(Date.now() / 1000);
    expect(
      await whoami(
        await issuer.sign({ sub: 'alice', aud: AUDIENCE, iat: now - 120, exp: now - 60 }),
      ),
    ).toMatchObject({
      status: 401,
      wwwAuthenticate: 'Bearer error="invalid_token", error_description="token expired"',
    });
    expect(
      await whoami(await issuer.sign({ sub: 'alice', aud: 'https://other.example.test' })),
    ).toMatchObject({
      status: 401,
      wwwAuthenticate: 'Bearer error="invalid_token", error_description="aud claim check failed"',
    });
  });

  it('refuses to start with a configuration error that names the variable, never its value', () => {
    expect(() =>
      loadGatewayConfig({ ISSUER: 'https://idp.example', JWKS: '{"keys":[]}', JWKS_URI: 'x' }),
    ).toThrow(/JWKS_URI: .*; JWKS\.keys: /);
    expect(() =>
      loadGatewayConfig({
        ISSUER: 'https://idp.example',
        JWKS_URI: 'https://idp.example/jwks',
        RESCIND_TOKEN: 'rsk_secret-value',
      }),
    ).toThrow(
      /^invalid configuration: RESCIND_TOKEN: RESCIND_SNAPSHOT_URL and RESCIND_TOKEN go together$/,
    );
  });

  it('under fail-closed, answers 503 and reports not ready while the revocation feed is down, then recovers', async () => {
    const token = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    await broker.down();
    try {
      await waitFor('the gateway to notice', async () => (await revocationStatus()).stale, {
        timeoutMs: 10_000,
      });
      expect(await whoami(token)).toMatchObject({
        status: 503,
        retryAfter: '2',
        body: expect.objectContaining({ code: 'revocation_list_stale' }),
      });
      const ready = await fetch(`${gateway.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('2');
    } finally {
      await broker.up();
    }
    await waitFor(
      'the gateway to be ready again',
      async () => (await fetch(`${gateway.url}/health/ready`)).status === 200,
      { timeoutMs: 45_000 },
    );
    expect((await whoami(token)).status).toBe(200);
  });
});
