import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Client } from 'pg';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { startTestConsumer } from '../support/consumer';
import { activeRules, basicAuth, postForm } from '../support/oauth-requests';
import { call } from '../support/operator';
import { rowCounts } from '../support/postgres';
import type { TcpProxy } from '../../tools/net/tcp-proxy';
import { issuersEnv, TestIssuer } from '../support/test-issuer';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const brokers = (): string[] => process.env.RESCIND_TEST_KAFKA_BROKERS!.split(',');
const sha256 = (token: string) => createHash('sha256').update(token).digest('base64url');

interface RegisteredClient {
  clientId: string;
  clientSecret: string;
}

/** A client of `issuer`: it may revoke that issuer's tokens issued to its id. */
async function registerClient(
  writer: RunningWriter,
  name: string,
  issuer: TestIssuer,
): Promise<RegisteredClient> {
  return writer.app
    .get(CredentialsRepository)
    .createClient(`${name}-${randomUUID()}`, name, issuer.issuer);
}

/** The latest rule version written: unchanged when nothing was written. */
async function maxSeq(db: Client): Promise<string | null> {
  const { rows } = await db.query<{ seq: string | null }>(
    `SELECT max(seq)::text AS seq FROM revocation_rule`,
  );
  return rows[0]!.seq;
}

const revoke = (
  writer: RunningWriter,
  client: RegisteredClient,
  parameters: Record<string, string>,
  headers: Record<string, string> = {},
) =>
  postForm(writer, '/oauth/revoke', parameters, {
    ...basicAuth(client.clientId, client.clientSecret),
    ...headers,
  });

async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(await response.json()).toEqual({ error, error_description: expect.any(String) });
}

describe('POST /oauth/revoke (RFC 7009)', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let idp: TestIssuer;
  let remoteIdp: TestIssuer;
  let app: RegisteredClient;
  let otherApp: RegisteredClient;
  let remoteApp: RegisteredClient;

  beforeAll(async () => {
    idp = await TestIssuer.create();
    remoteIdp = await TestIssuer.create();
    env = await startWriterEnvironment('oauth_revoke', {
      config: issuersEnv(
        idp.inlineConfig(3600),
        await remoteIdp.servedConfig(),
        // Nothing listens on the discard port: this issuer's keys can never be fetched.
        {
          issuer: 'https://keys-down.test',
          jwksUri: 'http://127.0.0.1:9/jwks',
          algorithms: ['ES256'],
        },
      ),
    });
    ({ writer, db } = env);
    app = await registerClient(writer, 'app', idp);
    otherApp = await registerClient(writer, 'other-app', idp);
    remoteApp = await registerClient(writer, 'remote-app', remoteIdp);
  });

  afterAll(async () => {
    await env?.close();
    await remoteIdp?.close();
  });

  describe('revoking', () => {
    it("revokes the token's session (sid) for its issuer, committed before the empty 200", async () => {
      const sid = `sid-${randomUUID()}`;
      const token = await idp.sign({
        sub: 'alice',
        client_id: app.clientId,
        sid,
        jti: randomUUID(),
      });
      const before = Date.now();
      const response = await revoke(writer, app, { token, token_type_hint: 'refresh_token' });
      const after = Date.now();

      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const [rule, ...more] = await activeRules(db, 'sid', sid);
      expect(more).toEqual([]);
      expect(rule).toMatchObject({ iss: idp.issuer, revoked_before: null, source: 'oauth' });
      // The session outlives this token: the rule lasts as long as the session can mint (the
      // issuer's grant lifetime, 14 days by default) and its last token can live.
      const lasts = 14 * 86_400_000 + 3_600_000;
      expect(rule!.expires_at!.getTime()).toBeGreaterThanOrEqual(before + lasts);
      expect(rule!.expires_at!.getTime()).toBeLessThanOrEqual(after + lasts);

      const { rows: audit } = await db.query(
        `SELECT actor, actor_role, source, source_event_id FROM audit_log WHERE rule_key = $1`,
        [rule!.rule_key],
      );
      // RFC 7009 requests have no id: no idempotency record, and no source event in the audit.
      expect(audit).toEqual([
        {
          actor: `oauth-client:${app.clientId}`,
          actor_role: 'idp',
          source: 'oauth',
          source_event_id: null,
        },
      ]);
      const { rows: events } = await db.query(
        `SELECT 1 FROM processed_event WHERE source = 'oauth'`,
      );
      expect(events).toEqual([]);
    });

    it('revokes a token without a session by its jti, until the token expires (client_secret_post)', async () => {
      const jti = randomUUID();
      const exp = Math.floor(Date.now() / 1000) + 300;
      const token = await idp.sign({ sub: 'alice', client_id: app.clientId, jti, exp });
      const response = await postForm(writer, '/oauth/revoke', {
        token,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      });
      expect(response.status).toBe(200);
      expect(await activeRules(db, 'jti', jti)).toEqual([
        expect.objectContaining({
          iss: idp.issuer,
          revoked_before: null,
          expires_at: new Date(exp * 1000),
        }),
      ]);
    });

    it('revokes a token with neither sid nor jti by its hash, and uses azp when client_id is absent', async () => {
      const token = await idp.sign({ sub: 'alice', azp: app.clientId });
      expect((await revoke(writer, app, { token })).status).toBe(200);
      expect(await activeRules(db, 'token_hash', sha256(token))).toEqual([
        expect.objectContaining({ iss: idp.issuer, revoked_before: null }),
      ]);
    });

    it('verifies tokens of an issuer whose JWKS is fetched from its jwksUri', async () => {
      const jti = randomUUID();
      const token = await remoteIdp.sign({ client_id: remoteApp.clientId, jti });
      expect((await revoke(writer, remoteApp, { token })).status).toBe(200);
      expect(await activeRules(db, 'jti', jti)).toHaveLength(1);
    });

    it('ignores a token_type_hint it does not know (RFC 7009 §2.1)', async () => {
      const jti = randomUUID();
      const token = await idp.sign({ client_id: app.clientId, jti });
      expect((await revoke(writer, app, { token, token_type_hint: 'id_token_or_so' })).status).toBe(
        200,
      );
      expect(await activeRules(db, 'jti', jti)).toHaveLength(1);
    });

    it.each([
      ['session', { sid: `sid-${randomUUID()}`, jti: randomUUID() }],
      ['token', { jti: randomUUID() }],
      ['token hash', {}],
    ])(
      'answers 200 for an already revoked token (%s) and writes no new version (RFC 7009 §2.2)',
      async (_, claims) => {
        const token = await idp.sign({ client_id: app.clientId, ...claims });
        expect((await revoke(writer, app, { token })).status).toBe(200);
        const before = await rowCounts(db);
        const seqBefore = await maxSeq(db);
        const again = await revoke(writer, app, { token });
        expect(again.status).toBe(200);
        expect(await again.text()).toBe('');
        expect(await rowCounts(db)).toEqual(before);
        expect(await maxSeq(db)).toBe(seqBefore);
      },
    );

    it('extends the session rule for a token of the session that outlives it, once', async () => {
      const sid = `sid-${randomUUID()}`;
      const first = await idp.sign({ client_id: app.clientId, sid });
      expect((await revoke(writer, app, { token: first })).status).toBe(200);
      const [revoked] = await activeRules(db, 'sid', sid);

      // Issued to the same session, living past the rule: revoking it must extend the rule.
      const exp = Math.floor(revoked!.expires_at!.getTime() / 1000) + 600;
      const longer = await idp.sign({ client_id: app.clientId, sid, exp });
      expect((await revoke(writer, app, { token: longer })).status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toEqual([
        expect.objectContaining({ expires_at: new Date(exp * 1000) }),
      ]);
      const before = await rowCounts(db);
      expect((await revoke(writer, app, { token: longer })).status).toBe(200);
      expect((await revoke(writer, app, { token: first })).status).toBe(200);
      expect(await rowCounts(db)).toEqual(before);
    });
  });

  describe('writing nothing for tokens it must not act on', () => {
    it("refuses another trusted issuer's token naming the client's id, and writes nothing (RFC 7009 §2.1)", async () => {
      const sid = `sid-${randomUUID()}`;
      // Client ids are unique per issuer only: remoteIdp's client with app's id is not app.
      const sameIdElsewhere = await remoteIdp.sign({ sub: 'dave', client_id: app.clientId, sid });
      const viaAzp = await remoteIdp.sign({ sub: 'dave', azp: app.clientId, jti: randomUUID() });
      const before = await rowCounts(db);
      for (const token of [sameIdElsewhere, viaAzp]) {
        await expectOAuthError(await revoke(writer, app, { token }), 400, 'unauthorized_client');
      }
      // Nor may remoteIdp's client revoke idp's tokens.
      const ofIdp = await idp.sign({ sub: 'dave', client_id: remoteApp.clientId, sid });
      await expectOAuthError(
        await revoke(writer, remoteApp, { token: ofIdp }),
        400,
        'unauthorized_client',
      );
      expect(await rowCounts(db)).toEqual(before);
      expect(await activeRules(db, 'sid', sid)).toEqual([]);
      // app still revokes its own issuer's tokens.
      const own = await idp.sign({ sub: 'dave', client_id: app.clientId, sid });
      expect((await revoke(writer, app, { token: own })).status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toEqual([
        expect.objectContaining({ iss: idp.issuer }),
      ]);
    });

    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      [
        'an unknown token (a JWT of an issuer not configured)',
        async (c: JWTPayload) => (await TestIssuer.create()).sign(c),
      ],
      [
        'a forged token (another key under the same kid)',
        async (c: JWTPayload) => (await TestIssuer.forgerOf(idp)).sign(c),
      ],
      [
        'an expired token',
        (c: JWTPayload) => idp.sign({ ...c, iat: now() - 7200, exp: now() - 3600 }),
      ],
    ])('answers 200 for %s and writes nothing (RFC 7009 §2.2)', async (_, mint) => {
      // Apart from that, the token is one the calling client could revoke: its own, a session.
      const token = await mint({
        sub: 'alice',
        client_id: app.clientId,
        sid: `sid-${randomUUID()}`,
      });
      const before = await rowCounts(db);
      const response = await revoke(writer, app, { token });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
      expect(await rowCounts(db)).toEqual(before);
    });

    it("refuses another client's token with unauthorized_client and writes nothing (RFC 7009 §2.1)", async () => {
      const sid = `sid-${randomUUID()}`;
      const theirs = await idp.sign({ sub: 'bob', client_id: otherApp.clientId, sid });
      const nobodys = await idp.sign({ sub: 'bob', sid });
      const before = await rowCounts(db);
      await expectOAuthError(
        await revoke(writer, app, { token: theirs }),
        400,
        'unauthorized_client',
      );
      await expectOAuthError(
        await revoke(writer, app, { token: nobodys }),
        400,
        'unauthorized_client',
      );
      expect(await rowCounts(db)).toEqual(before);
      // The owner may.
      expect((await revoke(writer, otherApp, { token: theirs })).status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toHaveLength(1);
    });

    it('answers unsupported_token_type for a token that is not a JWT, when opaque tokens are off', async () => {
      const before = await rowCounts(db);
      await expectOAuthError(
        await revoke(writer, app, { token: '2YotnFZFEjr1zCsicMWpAA' }),
        400,
        'unsupported_token_type',
      );
      expect(await rowCounts(db)).toEqual(before);
    });

    it("answers 503 with Retry-After, writing nothing, when the issuer's keys cannot be fetched", async () => {
      const forKeysDown = await TestIssuer.create('https://keys-down.test');
      const before = await rowCounts(db);
      const response = await revoke(writer, app, {
        token: await forKeysDown.sign({ client_id: app.clientId }),
      });
      expect(response.headers.get('retry-after')).toBe('5');
      await expectOAuthError(response, 503, 'temporarily_unavailable');
      expect(await rowCounts(db)).toEqual(before);
    });
  });

  describe('client authentication and request errors', () => {
    let revoked: string;

    beforeAll(async () => {
      revoked = await idp.sign({ client_id: app.clientId, sid: `sid-${randomUUID()}` });
      const response = await revoke(writer, app, { token: revoked });
      if (response.status !== 200) {
        throw new Error(`setup: revoking answered ${response.status}`);
      }
    });

    it.each([
      ['a wrong secret', () => basicAuth(app.clientId, `${app.clientSecret}x`)],
      ['an unknown client', () => basicAuth('no-such-client', app.clientSecret)],
      ['no client authentication', () => ({})],
      ['a Bearer token instead', () => ({ authorization: 'Bearer rsk_whatever' })],
    ])(
      'answers 401 invalid_client with a Basic challenge for %s, even for a revoked token (RFC 7009 §2.1)',
      async (_, headers: () => Record<string, string>) => {
        const response = await postForm(writer, '/oauth/revoke', { token: revoked }, headers());
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="rescind"/);
        await expectOAuthError(response, 401, 'invalid_client');
      },
    );

    it('answers 401 for a wrong client_secret_post secret too', async () => {
      const response = await postForm(writer, '/oauth/revoke', {
        token: revoked,
        client_id: app.clientId,
        client_secret: 'wrong',
      });
      await expectOAuthError(response, 401, 'invalid_client');
    });

    it('answers invalid_request for two authentication methods at once (RFC 6749 §2.3)', async () => {
      const response = await revoke(writer, app, {
        token: revoked,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      });
      await expectOAuthError(response, 400, 'invalid_request');
    });

    it('answers invalid_request for a missing token, a repeated parameter and a JSON body', async () => {
      await expectOAuthError(await revoke(writer, app, {}), 400, 'invalid_request');
      const repeated = await fetch(`${writer.url}/oauth/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...basicAuth(app.clientId, app.clientSecret),
        },
        body: `token=${revoked}&token=${revoked}`,
      });
      await expectOAuthError(repeated, 400, 'invalid_request');
      const json = await fetch(`${writer.url}/oauth/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...basicAuth(app.clientId, app.clientSecret),
        },
        body: JSON.stringify({ token: revoked }),
      });
      await expectOAuthError(json, 400, 'invalid_request');
    });

    it.each(['GET', 'PUT', 'DELETE', 'PATCH'])(
      'answers %s with 405 and Allow: POST',
      async (method) => {
        for (const path of ['/oauth/revoke', '/oauth/introspect']) {
          const response = await fetch(`${writer.url}${path}`, { method });
          expect(response.headers.get('allow')).toBe('POST');
          await expectOAuthError(response, 405, 'invalid_request');
        }
      },
    );
  });

  describe('a session revoked through either token, at an enforcement point', () => {
    let consumer: RevocationConsumer;
    let admin: string;

    /** The operator API's reinstatement (admin), of the rule with this key. */
    async function reinstate(ruleKey: string, body: Record<string, unknown>) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM revocation_rule WHERE rule_key = $1`,
        [ruleKey],
      );
      return call(writer, 'POST', `/v1/revocations/${rows[0]!.id}/reinstate`, {
        token: admin,
        body,
      });
    }

    async function auditActions(ruleKey: string): Promise<string[]> {
      const { rows } = await db.query<{ action: string }>(
        `SELECT action FROM audit_log WHERE rule_key = $1 ORDER BY id`,
        [ruleKey],
      );
      return rows.map((r) => r.action);
    }

    beforeAll(async () => {
      admin = (
        await writer.app
          .get(CredentialsRepository)
          .createCredential(`oauth-admin-${randomUUID()}`, 'admin')
      ).token;
      consumer = await startTestConsumer(brokers(), { groupIdPrefix: 'oauth-revoke-test' });
    });

    afterAll(async () => {
      await consumer?.stop();
    });

    /** What an enforcement point checks after verifying the JWT: payload plus header kid. */
    const claimsOf = (token: string) => ({
      ...decodeJwt(token),
      kid: decodeProtectedHeader(token).kid,
    });

    it('revoking the refresh token revokes the access token of the same session, and no other', async () => {
      const session = { sub: 'carol', client_id: app.clientId, sid: `sid-${randomUUID()}` };
      const accessToken = await idp.sign({ ...session, jti: randomUUID(), scope: 'read' });
      const refreshToken = await idp.sign({
        ...session,
        jti: randomUUID(),
        exp: Math.floor(Date.now() / 1000) + 3000,
      });
      const otherSession = await idp.sign({
        ...session,
        sid: `sid-${randomUUID()}`,
        jti: randomUUID(),
      });
      expect(consumer.check(claimsOf(accessToken)).revoked).toBe(false);

      const response = await revoke(writer, app, {
        token: refreshToken,
        token_type_hint: 'refresh_token',
      });
      expect(response.status).toBe(200);

      const decision = await waitFor('the access token revoked at the enforcement point', () => {
        const d = consumer.check(claimsOf(accessToken));
        return d.revoked ? d : undefined;
      });
      expect(decision.rule).toMatchObject({ claim: 'sid', value: session.sid, iss: idp.issuer });
      expect(consumer.check(claimsOf(refreshToken)).revoked).toBe(true);
      expect(consumer.check(claimsOf(otherSession)).revoked).toBe(false);
    });

    it('revokes a token again after an operator reinstated its rule, up to the enforcement point', async () => {
      const sid = `sid-${randomUUID()}`;
      const token = await idp.sign({ sub: 'erin', client_id: app.clientId, sid });
      const isRevoked = () => consumer.check(claimsOf(token)).revoked;
      expect((await revoke(writer, app, { token })).status).toBe(200);
      await waitFor('the token revoked at the enforcement point', isRevoked);
      const [rule] = await activeRules(db, 'sid', sid);

      const reinstated = await reinstate(rule!.rule_key, { reason: 'revoked by mistake' });
      expect(reinstated.status).toBe(200);
      await waitFor('the token allowed again at the enforcement point', () => !isRevoked());
      expect(await activeRules(db, 'sid', sid)).toEqual([]);

      const again = await revoke(writer, app, { token });
      expect(again.status).toBe(200);
      expect(await again.text()).toBe('');
      expect(await activeRules(db, 'sid', sid)).toEqual([
        expect.objectContaining({ iss: idp.issuer, revoked_before: null, source: 'oauth' }),
      ]);
      await waitFor('the token revoked again at the enforcement point', isRevoked);
      expect(await auditActions(rule!.rule_key)).toEqual([
        'rule.set',
        'rule.reinstated',
        'rule.set',
      ]);
    });

    it('revokes every token of the session again after an operator lowered the rule', async () => {
      const sid = `sid-${randomUUID()}`;
      const token = await idp.sign({ sub: 'frank', client_id: app.clientId, sid });
      expect((await revoke(writer, app, { token })).status).toBe(200);
      const [rule] = await activeRules(db, 'sid', sid);
      // Lowered to before the token was issued (a minute ago): the rule stays active, and
      // expires half an hour from now, but no longer matches the token.
      const lowerTo = new Date(Date.now() - 1_800_000).toISOString();
      const lowered = await reinstate(rule!.rule_key, {
        reason: 'too broad',
        revokedBefore: lowerTo,
      });
      expect(lowered.status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toEqual([
        expect.objectContaining({ revoked_before: new Date(lowerTo) }),
      ]);

      expect((await revoke(writer, app, { token })).status).toBe(200);
      expect(await activeRules(db, 'sid', sid)).toEqual([
        expect.objectContaining({ revoked_before: null }),
      ]);
      await waitFor(
        'the token revoked at the enforcement point',
        () => consumer.check(claimsOf(token)).revoked,
      );
      expect(await auditActions(rule!.rule_key)).toEqual(['rule.set', 'rule.lowered', 'rule.set']);
    });
  });
});

describe('POST /oauth/revoke with opaque tokens enabled', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let idp: TestIssuer;
  let app: RegisteredClient;

  beforeAll(async () => {
    idp = await TestIssuer.create();
    env = await startWriterEnvironment('oauth_opaque', {
      config: { ...issuersEnv(idp.inlineConfig()), OPAQUE_TOKENS_ENABLED: 'true' },
    });
    ({ writer, db } = env);
    app = await registerClient(writer, 'app', idp);
  });

  afterAll(() => env?.close());

  it('revokes an opaque token by its SHA-256 and stores the raw token nowhere', async () => {
    const opaque = `opaque-${randomUUID()}`;
    const jwt = await idp.sign({ client_id: app.clientId, jti: randomUUID() });
    expect((await revoke(writer, app, { token: opaque })).status).toBe(200);
    expect((await revoke(writer, app, { token: jwt })).status).toBe(200);

    expect(await activeRules(db, 'token_hash', sha256(opaque))).toEqual([
      expect.objectContaining({ iss: null, revoked_before: null, source: 'oauth' }),
    ]);
    const { rows } = await db.query<{ row: string }>(
      `SELECT t::text AS row FROM revocation_rule t
       UNION ALL SELECT t::text FROM processed_event t
       UNION ALL SELECT t::text FROM audit_log t
       UNION ALL SELECT t::text FROM outbox t`,
    );
    const everything = rows.map((r) => r.row).join('\n');
    expect(everything).toContain(sha256(opaque)); // the rows are there...
    expect(everything).not.toContain(opaque); // ...the tokens are not
    expect(everything).not.toContain(jwt.split('.')[2]);
  });
});

describe('POST /oauth/revoke while PostgreSQL cannot take the revocation', () => {
  let env: WriterEnvironment;
  let proxy: TcpProxy;
  let writer: RunningWriter;
  let db: Client;
  let idp: TestIssuer;
  let app: RegisteredClient;

  beforeAll(async () => {
    idp = await TestIssuer.create();
    env = await startWriterEnvironment('oauth_pgdown', {
      postgresProxy: true,
      config: { ...issuersEnv(idp.inlineConfig()), DATABASE_STATEMENT_TIMEOUT_MS: '500' },
    });
    ({ postgresProxy: proxy, writer, db } = env);
    app = await registerClient(writer, 'app', idp);
  });

  afterAll(() => env?.close());

  it('answers 503 with Retry-After while PostgreSQL is unreachable, and 200 once it is back', async () => {
    const sid = `sid-${randomUUID()}`;
    const token = await idp.sign({ client_id: app.clientId, sid });
    proxy.cut();
    try {
      const refused = await revoke(writer, app, { token });
      expect(refused.headers.get('retry-after')).toBe('5');
      await expectOAuthError(refused, 503, 'temporarily_unavailable');
    } finally {
      proxy.restore();
    }
    expect(await activeRules(db, 'sid', sid)).toEqual([]);
    expect((await revoke(writer, app, { token })).status).toBe(200);
    expect(await activeRules(db, 'sid', sid)).toHaveLength(1);
  });

  it('answers 503 when the revocation itself cannot be committed, never 200', async () => {
    const sid = `sid-${randomUUID()}`;
    const token = await idp.sign({ client_id: app.clientId, sid });
    // Client authentication reads oauth_client; the revocation then waits for this lock on
    // the rules until the statement timeout gives up.
    await db.query('BEGIN');
    try {
      await db.query('LOCK TABLE revocation_rule IN ACCESS EXCLUSIVE MODE');
      const refused = await revoke(writer, app, { token });
      expect(refused.headers.get('retry-after')).toBe('5');
      await expectOAuthError(refused, 503, 'temporarily_unavailable');
    } finally {
      await db.query('ROLLBACK');
    }
    expect(await activeRules(db, 'sid', sid)).toEqual([]);
    expect((await revoke(writer, app, { token })).status).toBe(200);
    expect(await activeRules(db, 'sid', sid)).toHaveLength(1);
  });
});

describe('POST /oauth/revoke when rate limited', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let app: RegisteredClient;

  beforeAll(async () => {
    env = await startWriterEnvironment('oauth_limit', {
      config: { RATE_LIMIT_PER_IP_PER_MINUTE: '2' },
    });
    ({ writer } = env);
    app = await registerClient(writer, 'app', await TestIssuer.create());
  });

  afterAll(() => env?.close());

  it('answers 429 in the OAuth error shape, with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      statuses.push((await revoke(writer, app, { token: 'not-a-jwt' })).status);
    }
    expect(statuses).toEqual([400, 400]); // unsupported_token_type: opaque tokens are off
    const limited = await revoke(writer, app, { token: 'not-a-jwt' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectOAuthError(limited, 429, 'temporarily_unavailable');
  });
});
