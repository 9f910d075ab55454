import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import type { CreatedRevocation } from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { sharedBrokers, testTopics } from '../support/kafka';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { call } from '../support/operator';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { type RunningWriter, startWriter } from '../support/writer';

/** The operator API while PostgreSQL is unreachable: 503 + Retry-After, never a 2xx or a 500. */
describe('operator API while PostgreSQL is unreachable', () => {
  const topics = testTopics('revocationss');
  let schema: TestSchema;
  let proxy: TcpProxy;
  let writer: RunningWriter;
  let admin: string;
  let ruleId: string;

  beforeAll(async () => {
    await topics.create();
    schema = await createTestSchema('opstorage');
    proxy = await TcpProxy.start('127.0.0.1', 5432);
    const url = new URL(schema.url);
    url.port = String(proxy.port);
    writer = await startWriter({ ...schema, url: url.toString() }, sharedBrokers(), {
      ...topics.writerEnv,
      DATABASE_CONNECT_TIMEOUT_MS: '500',
    });
    admin = (await writer.app.get(CredentialsRepository).createCredential('storage-admin', 'admin'))
      .token;
    const created = await call<CreatedRevocation>(writer, 'POST', '/v1/revocations', {
      token: admin,
      body: { rules: [{ claim: 'sub', value: 'pgdown' }], reason: 'r' },
    });
    ruleId = created.body.revocationId;
  });

  afterAll(async () => {
    await writer?.stop();
    await proxy?.stop();
    await schema?.drop();
  });

  it('answers 503 storage_unavailable with Retry-After on every endpoint, and works again after', async () => {
    proxy.cut();
    for (const [method, path, body] of [
      ['POST', '/v1/revocations', { rules: [{ claim: 'sub', value: 'x' }], reason: 'r' }],
      ['GET', '/v1/revocations', undefined],
      ['GET', `/v1/revocations/${ruleId}`, undefined],
      ['POST', `/v1/revocations/${ruleId}/reinstate`, { reason: 'r' }],
      ['GET', '/v1/audit', undefined],
      ['GET', '/v1/audit?format=ndjson', undefined],
    ] as const) {
      const response = await call<ProblemDetails>(writer, method, path, { token: admin, body });
      expect([method, path, response.status, response.body.code]).toEqual([
        method,
        path,
        503,
        'storage_unavailable',
      ]);
      expect(response.headers.get('retry-after')).toBe('5');
    }
    proxy.restore();
    const again = await call(writer, 'GET', `/v1/revocations/${ruleId}`, { token: admin });
    expect(again.status).toBe(200);
  });
});
