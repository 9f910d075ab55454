import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import type { CreatedRevocation } from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { testTopics } from '../support/kafka';
import { call } from '../support/operator';
import type { TcpProxy } from '../../tools/net/tcp-proxy';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

/** The operator API while PostgreSQL is unreachable: 503 + Retry-After, never a 2xx or a 500. */
describe('operator API while PostgreSQL is unreachable', () => {
  const topics = testTopics('revocationss');
  let env: WriterEnvironment;
  let proxy: TcpProxy;
  let writer: RunningWriter;
  let admin: string;
  let ruleId: string;

  beforeAll(async () => {
    env = await startWriterEnvironment('opstorage', { topics, postgresProxy: true });
    ({ postgresProxy: proxy, writer } = env);
    admin = await env.token('storage-admin', 'admin');
    const created = await call<CreatedRevocation>(writer, 'POST', '/v1/revocations', {
      token: admin,
      body: { rules: [{ claim: 'sub', value: 'pgdown' }], reason: 'r' },
    });
    ruleId = created.body.revocationId;
  });

  afterAll(() => env?.close());

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
