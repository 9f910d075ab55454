import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { activeRules, postForm } from '../support/oauth-requests';
import { rowCounts } from '../support/postgres';
import { issuersEnv, TestIssuer } from '../support/test-issuer';
import { INGEST_TOKEN, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

describe('POST /global-token-revocation (draft-parecki-oauth-global-token-revocation)', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let idp: TestIssuer;
  let idpCredential: string;
  let admin: string;
  let introspector: string;

  beforeAll(async () => {
    idp = await TestIssuer.create();
    env = await startWriterEnvironment('oauth_global', {
      // The issuer's tokens carry auth_time: a revocation spares logins after it.
      config: {
        ...issuersEnv({ ...idp.inlineConfig(3600), tokenClaims: ['auth_time', 'sid'] }),
        CUSTOM_RULE_CLAIMS: 'email',
      },
    });
    ({ writer, db } = env);
    idpCredential = await env.token('workforce-idp', 'idp');
    admin = await env.token('admin', 'admin');
    introspector = await env.token('gateway', 'introspector');
  });

  afterAll(() => env?.close());

  const globalRevoke = (
    body: unknown,
    bearer: string | null = idpCredential,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${writer.url}/global-token-revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  async function isActive(token: string): Promise<boolean> {
    const response = await postForm(
      writer,
      '/oauth/introspect',
      { token },
      { authorization: `Bearer ${introspector}` },
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { active: boolean }).active;
  }

  async function expectProblem(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status, code });
  }

  it('revokes every token of an iss_sub subject authenticated before the request: 204, then introspection says inactive', async () => {
    const sub = `user-${randomUUID()}`;
    const token = await idp.sign({ sub, jti: randomUUID() });
    const bystander = await idp.sign({ sub: `user-${randomUUID()}` });
    expect(await isActive(token)).toBe(true);

    const before = Date.now();
    const response = await globalRevoke({ sub_id: { format: 'iss_sub', iss: idp.issuer, sub } });
    const after = Date.now();
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    expect(await isActive(token)).toBe(false);
    expect(await isActive(bystander)).toBe(true);
    const [rule, ...more] = await activeRules(db, 'sub', sub);
    expect(more).toEqual([]);
    expect(rule).toMatchObject({ iss: idp.issuer, source: 'global', cutoff: 'auth_time' });
    expect(rule!.revoked_before!.getTime()).toBeGreaterThanOrEqual(before);
    expect(rule!.revoked_before!.getTime()).toBeLessThanOrEqual(after);
    const cutoff = Math.ceil(rule!.revoked_before!.getTime() / 1000);
    // Minted later from the grant of a login before the revocation: revoked.
    const refreshed = await idp.sign({ sub, iat: cutoff + 1, auth_time: cutoff - 600 });
    expect(await isActive(refreshed)).toBe(false);
    // The user signs in again: the new token is not revoked.
    const fresh = await idp.sign({ sub, iat: cutoff, auth_time: cutoff });
    expect(await isActive(fresh)).toBe(true);
  });

  it('revokes an opaque subject id as a sub of any issuer', async () => {
    const id = `user-${randomUUID()}`;
    const token = await idp.sign({ sub: id });
    expect((await globalRevoke({ sub_id: { format: 'opaque', id } })).status).toBe(204);
    expect(await activeRules(db, 'sub', id)).toEqual([expect.objectContaining({ iss: null })]);
    expect(await isActive(token)).toBe(false);
  });

  it('revokes by email when email is a configured rule claim', async () => {
    const email = `${randomUUID()}@example.com`;
    const token = await idp.sign({ sub: `user-${randomUUID()}`, email });
    expect((await globalRevoke({ sub_id: { format: 'email', email } }, admin)).status).toBe(204);
    expect(await activeRules(db, 'email', email)).toHaveLength(1);
    expect(await isActive(token)).toBe(false);
  });

  it('treats a repeated Idempotency-Key as one revocation, and the same key with another body as a conflict', async () => {
    const key = `"${randomUUID()}"`;
    const body = { sub_id: { format: 'opaque', id: `user-${randomUUID()}` } };
    expect((await globalRevoke(body, idpCredential, { 'idempotency-key': key })).status).toBe(204);
    const before = await rowCounts(db);
    expect((await globalRevoke(body, idpCredential, { 'idempotency-key': key })).status).toBe(204);
    expect(await rowCounts(db)).toEqual(before);

    const other = { sub_id: { format: 'opaque', id: `user-${randomUUID()}` } };
    await expectProblem(
      await globalRevoke(other, idpCredential, { 'idempotency-key': key }),
      409,
      'idempotency_conflict',
    );
    // Keys belong to their caller: another caller's identical key is another request.
    expect((await globalRevoke(other, admin, { 'idempotency-key': key })).status).toBe(204);
  });

  it.each([
    ['phone_number', { format: 'phone_number', phone_number: '+12065550100' }],
    ['an unknown format', { format: 'favourite_colour', colour: 'blue' }],
  ])('answers 400 unsupported_subject_format for %s, writing nothing', async (_, subId) => {
    const before = await rowCounts(db);
    await expectProblem(await globalRevoke({ sub_id: subId }), 400, 'unsupported_subject_format');
    expect(await rowCounts(db)).toEqual(before);
  });

  it('answers 400 for a malformed request and 415 for a body that is not JSON', async () => {
    await expectProblem(await globalRevoke({ sub: 'alice' }), 400, 'invalid_request');
    await expectProblem(
      await globalRevoke({ sub_id: { format: 'iss_sub', sub: 'alice' } }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await globalRevoke('sub_id=alice', idpCredential, {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
      'unsupported_media_type',
    );
  });

  it('answers 401 without a valid credential and 403 to a role without global-revoke, writing nothing', async () => {
    const body = { sub_id: { format: 'opaque', id: 'victim' } };
    const before = await rowCounts(db);
    await expectProblem(await globalRevoke(body, null), 401, 'unauthenticated');
    await expectProblem(await globalRevoke(body, `${idpCredential}x`), 401, 'unauthenticated');
    await expectProblem(await globalRevoke(body, introspector), 403, 'forbidden');
    await expectProblem(await globalRevoke(body, INGEST_TOKEN), 403, 'forbidden'); // the hr role
    expect(await rowCounts(db)).toEqual(before);
    expect(await activeRules(db, 'sub', 'victim')).toEqual([]);
  });
});
