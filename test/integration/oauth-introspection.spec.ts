import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { RecordRevocation } from '../../apps/revocation-writer/src/write-path/record-revocation';
import { basicAuth, postForm } from '../support/oauth-requests';
import { issuersEnv, TestIssuer } from '../support/test-issuer';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';
const now = () => Math.floor(Date.now() / 1000);

describe('POST /oauth/introspect (RFC 7662)', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let idp: TestIssuer;
  /** Its signing key gets revoked: an issuer of its own, so no other test is affected. */
  let compromisedIdp: TestIssuer;
  let introspector: string;
  let admin: string;
  let reader: string;
  let client: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    idp = await TestIssuer.create();
    compromisedIdp = await TestIssuer.create(undefined, 'compromised-key');
    env = await startWriterEnvironment('oauth_introspect', {
      config: {
        ...issuersEnv(idp.inlineConfig(3600), compromisedIdp.inlineConfig(3600)),
        CUSTOM_RULE_CLAIMS: 'device_id',
      },
    });
    ({ writer } = env);
    const credentials = writer.app.get(CredentialsRepository);
    introspector = (await credentials.createCredential('gateway', 'introspector')).token;
    admin = (await credentials.createCredential('admin', 'admin')).token;
    reader = (await credentials.createCredential('dashboard', 'reader')).token;
    client = await credentials.createClient(`app-${randomUUID()}`, 'app', idp.issuer);
  });

  afterAll(() => env?.close());

  async function introspect(token: string, bearer: string | null = introspector) {
    const response = await postForm(
      writer,
      '/oauth/introspect',
      { token, token_type_hint: 'access_token' },
      bearer === null ? {} : { authorization: `Bearer ${bearer}` },
    );
    return {
      status: response.status,
      headers: response.headers,
      body: await response.json(),
    };
  }

  const isActive = async (token: string) => {
    const { status, body } = await introspect(token);
    expect(status).toBe(200);
    return (body as { active: boolean }).active;
  };

  const session = (claims: JWTPayload = {}) =>
    idp.sign({
      sub: `user-${randomUUID()}`,
      client_id: client.clientId,
      jti: randomUUID(),
      ...claims,
    });

  it('answers an active token with its standard members and all its other claims, sid included, uncached (RFC 7662 §2.2, RFC 9068 §2.2)', async () => {
    const iat = now() - 60;
    const token = await idp.sign({
      sub: 'alice',
      client_id: client.clientId,
      scope: 'read write',
      aud: 'https://api.example',
      jti: 'jti-active',
      sid: 'sid-active',
      auth_time: iat - 30,
      acr: 'phr',
      amr: ['pwd', 'otp'],
      cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' },
      preferred_username: 'alice@example.com',
      tenant: 'acme',
      iat,
      nbf: iat,
      exp: iat + 900,
    });
    const { status, headers, body } = await introspect(token);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      active: true,
      scope: 'read write',
      client_id: client.clientId,
      username: 'alice@example.com',
      token_type: 'DPoP',
      exp: iat + 900,
      iat,
      nbf: iat,
      sub: 'alice',
      aud: 'https://api.example',
      iss: idp.issuer,
      jti: 'jti-active',
      sid: 'sid-active',
      auth_time: iat - 30,
      acr: 'phr',
      amr: ['pwd', 'otp'],
      cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' },
      preferred_username: 'alice@example.com',
      tenant: 'acme',
    });
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('answers a session token with its sid, so a resource server can tie it to its login session', async () => {
    const sid = `sid-${randomUUID()}`;
    const { body } = await introspect(await session({ sid }));
    expect(body).toMatchObject({ active: true, sid });
  });

  it('answers only {"active": false} once HR terminated the subject, for later tokens too until HR rehires them', async () => {
    const sub = `employee-${randomUUID()}`;
    const token = await idp.sign({ sub, client_id: client.clientId });
    expect(await isActive(token)).toBe(true);

    const response = await postHrEvent(writer, {
      id: `hr-${randomUUID()}`,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject: sub,
      iss: idp.issuer,
    });
    expect(response.status).toBe(202);

    expect(await introspect(token)).toMatchObject({ status: 200, body: { active: false } });
    expect(JSON.stringify((await introspect(token)).body)).toBe('{"active":false}');
    // Issued (and authenticated) after the termination: blocked too, until HR says otherwise.
    const later = await idp.sign({
      sub,
      client_id: client.clientId,
      iat: now() + 1,
      auth_time: now() + 1,
    });
    expect(await isActive(later)).toBe(false);
    const rehire = await postHrEvent(writer, {
      id: `hr-${randomUUID()}`,
      type: 'employee.rehired',
      occurredAt: new Date().toISOString(),
      subject: sub,
      iss: idp.issuer,
    });
    expect(rehire.status).toBe(202);
    expect(await rehire.json()).toMatchObject({ reinstatements: [{ outcome: 'reinstated' }] });
    expect(await isActive(later)).toBe(true);
  });

  it('answers inactive right after an RFC 7009 revocation of the session, for every token of it', async () => {
    const sid = `sid-${randomUUID()}`;
    const access = await session({ sid });
    const refresh = await session({ sid, exp: now() + 1800 });
    expect(await isActive(access)).toBe(true);

    const revoked = await postForm(
      writer,
      '/oauth/revoke',
      { token: refresh },
      basicAuth(client.clientId, client.clientSecret),
    );
    expect(revoked.status).toBe(200);

    expect(JSON.stringify((await introspect(access)).body)).toBe('{"active":false}');
    expect(JSON.stringify((await introspect(refresh)).body)).toBe('{"active":false}');
    expect(await isActive(await session({ sid: `sid-${randomUUID()}` }))).toBe(true);
  });

  it('honours rules on the key id (from the header), the client and a custom claim', async () => {
    const recordRevocation = writer.app.get(RecordRevocation);
    const revokeOn = (claim: string, value: string, iss = idp.issuer) =>
      recordRevocation.execute({
        source: 'operator',
        eventId: randomUUID(),
        bodySha256: randomUUID(),
        principal: { id: 'test-admin', name: 'test', role: 'admin' },
        confirmed: true,
        reason: 'test',
        occurredAt: null,
        receivedAt: new Date(),
        rules: [{ claim, value, iss, revokedBefore: null, expiresAt: null }],
        traceContext: {},
      });
    const onDevice = await session({ device_id: 'device-lost' });
    const ofClient = await idp.sign({ sub: 'x', azp: 'app-compromised' });
    expect(await isActive(onDevice)).toBe(true);
    expect(await isActive(ofClient)).toBe(true);

    await revokeOn('device_id', 'device-lost');
    await revokeOn('client_id', 'app-compromised');
    expect(await isActive(onDevice)).toBe(false);
    expect(await isActive(ofClient)).toBe(false);

    const signedWithKey = await compromisedIdp.sign({ sub: 'y' });
    expect(await isActive(signedWithKey)).toBe(true);
    await revokeOn('kid', 'compromised-key', compromisedIdp.issuer);
    expect(await isActive(signedWithKey)).toBe(false);
    expect(await isActive(await session())).toBe(true); // another issuer's tokens are untouched
  });

  it.each([
    ['an expired token', () => session({ iat: now() - 7200, exp: now() - 3600 })],
    ['a token not valid yet', () => session({ nbf: now() + 600 })],
    [
      'a forged token',
      () => TestIssuer.forgerOf(idp).then((forger) => forger.sign({ sub: 'alice' })),
    ],
    [
      'a token of an unknown issuer',
      () => TestIssuer.create().then((other) => other.sign({ sub: 'alice' })),
    ],
    ['a token living longer than its issuer allows', () => session({ exp: now() + 3600 })], // iat = now - 60
    ['a token without exp', () => session({ exp: undefined })],
    ['an opaque token', () => Promise.resolve('2YotnFZFEjr1zCsicMWpAA')],
    ['a malformed JWT', () => Promise.resolve('eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln')],
  ])('answers only {"active": false} for %s', async (_, mint: () => Promise<string>) => {
    const { status, body } = await introspect(await mint());
    expect(status).toBe(200);
    expect(JSON.stringify(body)).toBe('{"active":false}');
  });

  it('answers 401 invalid_token without an API credential, and for a wrong one', async () => {
    for (const bearer of [null, 'rsk_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const response = await introspect(await session(), bearer);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="rescind", error="invalid_token"/,
      );
      expect(response.body).toEqual({
        error: 'invalid_token',
        error_description: expect.any(String),
      });
    }
  });

  it("answers {active:false} to an introspector bound to another issuer, and the token to its own issuer's", async () => {
    const credentials = writer.app.get(CredentialsRepository);
    const other = (
      await credentials.createCredential('other-gateway', 'introspector', compromisedIdp.issuer)
    ).token;
    const own = (await credentials.createCredential('own-gateway', 'introspector', idp.issuer))
      .token;
    const token = await session();
    expect(JSON.stringify((await introspect(token, other)).body)).toBe('{"active":false}');
    expect((await introspect(token, own)).body).toMatchObject({ active: true, iss: idp.issuer });
  });

  it('answers 403 insufficient_scope to a credential without the introspect permission', async () => {
    const response = await introspect(await session(), reader);
    expect(response.status).toBe(403);
    expect(response.body).toEqual({
      error: 'insufficient_scope',
      error_description: expect.any(String),
    });
    expect((await introspect(await session(), admin)).status).toBe(200);
  });

  it('answers invalid_request without a token', async () => {
    const response = await postForm(
      writer,
      '/oauth/introspect',
      {},
      { authorization: `Bearer ${introspector}` },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: expect.any(String),
    });
  });
});
