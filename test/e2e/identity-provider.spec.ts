import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { type RunningGateway, startGateway } from '../support/gateway';
import {
  IdentityProviderError,
  type RunningIdentityProvider,
  startIdentityProvider,
} from '../support/identity-provider/identity-provider';
import { basicAuth, postForm } from '../support/oauth-requests';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

/** The claims of a JWT access token the IdP minted (read, not verified: the gateway verifies). */
const claimsOf = (token: string) =>
  decodeJwt(token) as { sub: string; sid?: string; auth_time?: number; iat: number; jti: string };

/** The IdP's refusal of a refresh token, or `undefined` if it minted new tokens. */
async function refusal(
  idp: RunningIdentityProvider,
  refreshToken: string,
): Promise<IdentityProviderError | undefined> {
  try {
    await idp.refresh(refreshToken);
    return undefined;
  } catch (error) {
    if (error instanceof IdentityProviderError) return error;
    throw error;
  }
}

/**
 * auth_time and iat are whole seconds: a login counts as after a revocation only from the first
 * whole second not before it. Waits (for the clock, no fixed sleep) until that second.
 */
const untilSecondAfter = (instantMs: number) =>
  waitFor('the next whole second', () => Date.now() >= Math.ceil(instantMs / 1000) * 1000 + 50, {
    intervalMs: 20,
  });

/**
 * The test IdP itself (node-oidc-provider in a child process): what Rescind relies on it for,
 * checked without Rescind, so that a failure below is Rescind's and not the IdP's set-up.
 */
describe('node-oidc-provider as the test IdP', () => {
  let idp: RunningIdentityProvider;

  beforeAll(async () => {
    idp = await startIdentityProvider({ globalRevocation: true });
  });

  afterAll(() => idp?.stop());

  it('issues RS256 JWT access tokens with sid and auth_time; a refresh keeps both, with a fresh iat', async () => {
    const login = await idp.login('idp-alice');
    const first = claimsOf(login.accessToken);
    expect(first).toMatchObject({
      sub: 'idp-alice',
      iss: idp.issuer,
      aud: idp.audience,
      client_id: 'app',
      sid: expect.any(String),
      auth_time: expect.any(Number),
      jti: expect.any(String),
    });
    expect(first.auth_time).toBeLessThanOrEqual(first.iat);
    await untilSecondAfter(first.iat * 1000 + 1);

    const refreshed = await idp.refresh(login.refreshToken);
    const second = claimsOf(refreshed.accessToken);
    expect(second.iat).toBeGreaterThan(first.iat);
    // The original login's auth_time and session survive the refresh.
    expect(second).toMatchObject({ auth_time: first.auth_time, sid: first.sid, sub: 'idp-alice' });
    // Rotation: a new refresh token; the old one is spent.
    expect(refreshed.refreshToken).not.toBe(login.refreshToken);

    // Another login is another session, with its own auth_time.
    const again = claimsOf((await idp.login('idp-alice')).accessToken);
    expect(again.sid).not.toBe(first.sid);
    expect(again.auth_time).toBeGreaterThan(first.auth_time!);
  });

  it('lets the rescind client introspect and revoke a refresh token of client app', async () => {
    const login = await idp.login('idp-bob');
    const sid = claimsOf(login.accessToken).sid;
    expect(await idp.introspect(login.refreshToken)).toMatchObject({
      active: true,
      sub: 'idp-bob',
      client_id: 'app',
      sid,
      iss: idp.issuer,
    });
    // node-oidc-provider answers no token_type for a refresh token (RFC 7662 makes it optional).
    expect(await idp.introspect(login.refreshToken)).not.toHaveProperty('token_type');
    expect(await idp.revoke(login.refreshToken, 'refresh_token')).toBe(200);
    expect(await idp.introspect(login.refreshToken)).toEqual({ active: false });
    expect(await refusal(idp, login.refreshToken)).toMatchObject({ error: 'invalid_grant' });
  });

  it('ends every grant of a user at POST /global-token-revocation (client_secret_basic as rescind)', async () => {
    const [first, second, bystander] = await Promise.all([
      idp.login('idp-carol'),
      idp.login('idp-carol'),
      idp.login('idp-dave'),
    ]);
    const call = (authorization: Record<string, string>, sub = 'idp-carol') =>
      fetch(idp.endpoints.globalRevocation, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization },
        body: JSON.stringify({ sub_id: { format: 'iss_sub', iss: idp.issuer, sub } }),
      });
    expect((await call({})).status).toBe(401);
    expect((await call(basicAuth('rescind', 'not-the-secret'))).status).toBe(401);
    expect((await idp.introspect(first.refreshToken)).active).toBe(true);

    const rescind = basicAuth(idp.rescindClient.id, idp.rescindClient.secret);
    expect((await call(rescind)).status).toBe(204);
    for (const login of [first, second]) {
      expect((await idp.introspect(login.refreshToken)).active).toBe(false);
      expect(await refusal(idp, login.refreshToken)).toMatchObject({ error: 'invalid_grant' });
    }
    expect(await refusal(idp, bystander.refreshToken)).toBeUndefined();
    // The user can sign in again.
    expect(claimsOf((await idp.login('idp-carol')).accessToken).sub).toBe('idp-carol');
  });
});

/**
 * Rescind next to a real OpenID provider, as deployed: users sign in at node-oidc-provider
 * (authorization code + PKCE), call an API behind the example gateway with its JWT access tokens,
 * and refresh them; revocations reach the writer from HR, from the IdP's global token revocation
 * and from the app's RFC 7009 call, and the gateway's deny-list (through PostgreSQL, the outbox
 * and Kafka) and the IdP itself must then refuse what those users still hold. No token is made by
 * hand: every one is the IdP's.
 */
describe('Rescind with a real OpenID provider (node-oidc-provider)', () => {
  /** Without a global revocation endpoint (only revocation and introspection upstream). */
  let plainIdp: RunningIdentityProvider;
  /** With draft-parecki-oauth-global-token-revocation, configured at the writer. */
  let globalIdp: RunningIdentityProvider;
  let broker: KafkaBroker;
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let plainGateway: RunningGateway;
  let globalGateway: RunningGateway;
  /** Rescind's OAuth client `app`, bound to the plain IdP (its tokens' client_id). */
  let appAtRescind: { clientId: string; clientSecret: string };
  let idpCredential: string;
  let reader: string;

  const issuerEntry = (idp: RunningIdentityProvider, globalRevocation: boolean) => ({
    issuer: idp.issuer,
    jwksUri: idp.jwksUri,
    algorithms: ['RS256'],
    tokenClaims: ['auth_time', 'sid'],
    sessionLifetimeSeconds: idp.ttl.Session,
    refreshTokenLifetimeSeconds: idp.ttl.RefreshToken,
    maxTokenLifetimeSeconds: idp.ttl.AccessToken,
    upstream: {
      clientId: idp.rescindClient.id,
      clientSecret: idp.rescindClient.secret,
      revocationEndpoint: idp.endpoints.revocation,
      introspectionEndpoint: idp.endpoints.introspection,
      ...(globalRevocation && { globalRevocationEndpoint: idp.endpoints.globalRevocation }),
      timeoutMs: 2000,
    },
  });

  async function gatewayFor(idp: RunningIdentityProvider): Promise<RunningGateway> {
    const gateway = env.adopt(
      await startGateway({
        KAFKA_BROKERS: broker.brokers.join(','),
        KAFKA_MAX_WAIT_MS: '50',
        JWKS_URI: idp.jwksUri,
        ISSUER: idp.issuer,
        AUDIENCE: idp.audience,
        JWT_ALGORITHMS: 'RS256',
        STALENESS_POLICY: 'fail-closed',
        MAX_STALENESS_MS: '1500',
      }),
    );
    await waitFor(
      'the gateway to be ready',
      async () => (await fetch(`${gateway.url}/health/ready`)).status === 200,
    );
    return gateway;
  }

  beforeAll(async () => {
    plainIdp = await startIdentityProvider();
    globalIdp = await startIdentityProvider({ globalRevocation: true });
    broker = await startOwnBroker(3);
    env = await startWriterEnvironment('idp_e2e', {
      brokers: broker.brokers,
      config: {
        HEARTBEAT_INTERVAL_MS: '200',
        ISSUERS: JSON.stringify([issuerEntry(plainIdp, false), issuerEntry(globalIdp, true)]),
      },
    });
    writer = env.writer;
    plainGateway = await gatewayFor(plainIdp);
    globalGateway = await gatewayFor(globalIdp);
    appAtRescind = await writer.app
      .get(CredentialsRepository)
      .createClient(plainIdp.appClient.id, 'app', plainIdp.issuer);
    idpCredential = await env.token('workforce-idp', 'idp');
    reader = await env.token('auditor', 'reader');
  });

  afterAll(async () => {
    await env?.close();
    await broker?.stop();
    await plainIdp?.stop();
    await globalIdp?.stop();
  });

  /** GET /api/whoami at `gateway` with `token`: the status. */
  const statusAt = async (gateway: RunningGateway, token: string): Promise<number> => {
    const response = await fetch(`${gateway.url}/api/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    return response.status;
  };

  const refusedAt = (gateway: RunningGateway, token: string, what: string) =>
    waitFor(`the gateway to refuse ${what}`, async () => (await statusAt(gateway, token)) === 401);

  /** Rescind's global token revocation for `sub` of `idp`, as the IdP role calls it. */
  async function globallyRevoke(idp: RunningIdentityProvider, sub: string): Promise<number> {
    const response = await fetch(`${writer.url}/global-token-revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${idpCredential}` },
      body: JSON.stringify({ sub_id: { format: 'iss_sub', iss: idp.issuer, sub } }),
    });
    expect(response.status).toBe(204);
    return Date.now();
  }

  async function hrEvent(type: string, subject: string): Promise<number> {
    const response = await postHrEvent(writer, {
      id: `hr-${randomUUID()}`,
      type,
      occurredAt: new Date().toISOString(),
      subject,
      iss: plainIdp.issuer,
    });
    expect(response.status).toBe(202);
    return Date.now();
  }

  it('(a) global revocation without the IdP endpoint: a token the IdP mints later from an earlier refresh token is refused, a new login is served', async () => {
    const sub = `user-a-${randomUUID()}`;
    const login = await plainIdp.login(sub);
    const refreshed = await plainIdp.refresh(login.refreshToken);
    expect(await statusAt(plainGateway, refreshed.accessToken)).toBe(200);

    const revokedAt = await globallyRevoke(plainIdp, sub);
    await refusedAt(plainGateway, refreshed.accessToken, 'the access token held at the revocation');
    expect(await statusAt(plainGateway, login.accessToken)).toBe(401);

    // The IdP knows nothing of it and mints again from the refresh token obtained before.
    await untilSecondAfter(revokedAt);
    const minted = await plainIdp.refresh(refreshed.refreshToken);
    expect(claimsOf(minted.accessToken).iat * 1000).toBeGreaterThanOrEqual(revokedAt);
    expect(claimsOf(minted.accessToken).auth_time).toBe(claimsOf(login.accessToken).auth_time);
    expect(await statusAt(plainGateway, minted.accessToken)).toBe(401);

    // A genuinely new login (auth_time after the revocation) is served.
    const fresh = await plainIdp.login(sub);
    expect(claimsOf(fresh.accessToken).auth_time! * 1000).toBeGreaterThanOrEqual(revokedAt);
    expect(await statusAt(plainGateway, fresh.accessToken)).toBe(200);
  });

  it('(b) global revocation with the IdP endpoint configured: the writer ends the grants at the IdP, audits the call, and a new login works', async () => {
    const sub = `user-b-${randomUUID()}`;
    const login = await globalIdp.login(sub);
    const refreshed = await globalIdp.refresh(login.refreshToken);
    expect(await statusAt(globalGateway, refreshed.accessToken)).toBe(200);

    const revokedAt = await globallyRevoke(globalIdp, sub);
    await refusedAt(
      globalGateway,
      refreshed.accessToken,
      'the access token held at the revocation',
    );
    // The upstream worker calls the IdP off the request path: wait for it.
    await waitFor(
      "the IdP to end the user's grants",
      async () => (await globalIdp.introspect(refreshed.refreshToken)).active === false,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await refusal(globalIdp, refreshed.refreshToken)).toMatchObject({
      status: 400,
      error: 'invalid_grant',
    });
    expect(globalIdp.events).toContainEqual(
      expect.objectContaining({ event: 'global-token-revocation', status: 204, sub }),
    );

    const audit = await waitFor('the upstream call in the audit log', async () => {
      const response = await fetch(`${writer.url}/v1/audit?limit=500`, {
        headers: { authorization: `Bearer ${reader}` },
      });
      expect(response.status).toBe(200);
      const { items } = (await response.json()) as { items: Array<Record<string, unknown>> };
      return items.find((e) => e.action === 'upstream.revoked' && JSON.stringify(e).includes(sub));
    });
    expect(audit).toMatchObject({ action: 'upstream.revoked' });

    await untilSecondAfter(revokedAt);
    const fresh = await globalIdp.login(sub);
    expect(await statusAt(globalGateway, fresh.accessToken)).toBe(200);
    expect(await refusal(globalIdp, fresh.refreshToken)).toBeUndefined();
  });

  it("(c) RFC 7009 at Rescind: the refresh token dies at the IdP, its session's access tokens at the gateway, another user's token passes", async () => {
    const sub = `user-c-${randomUUID()}`;
    const login = await plainIdp.login(sub);
    const refreshed = await plainIdp.refresh(login.refreshToken);
    const other = await plainIdp.login(`user-c-other-${randomUUID()}`);
    for (const token of [login.accessToken, refreshed.accessToken, other.accessToken]) {
      expect(await statusAt(plainGateway, token)).toBe(200);
    }

    const response = await postForm(
      writer,
      '/oauth/revoke',
      { token: refreshed.refreshToken, token_type_hint: 'refresh_token' },
      basicAuth(appAtRescind.clientId, appAtRescind.clientSecret),
    );
    expect(response.status).toBe(200);
    // 200 only once the IdP revoked it: no waiting here.
    expect(await refusal(plainIdp, refreshed.refreshToken)).toMatchObject({
      error: 'invalid_grant',
    });
    expect(await plainIdp.introspect(refreshed.refreshToken)).toEqual({ active: false });

    await refusedAt(plainGateway, refreshed.accessToken, "the session's latest access token");
    expect(await statusAt(plainGateway, login.accessToken)).toBe(401);
    expect(await statusAt(plainGateway, other.accessToken)).toBe(200);
  });

  it('(d) HR termination refuses every token of the user, refreshed or from a new login, until HR rehires them', async () => {
    const sub = `user-d-${randomUUID()}`;
    const login = await plainIdp.login(sub);
    const refreshed = await plainIdp.refresh(login.refreshToken);
    expect(await statusAt(plainGateway, refreshed.accessToken)).toBe(200);

    const terminatedAt = await hrEvent('employee.terminated', sub);
    await refusedAt(
      plainGateway,
      refreshed.accessToken,
      'the access token held at the termination',
    );
    expect(await statusAt(plainGateway, login.accessToken)).toBe(401);

    await untilSecondAfter(terminatedAt);
    const minted = await plainIdp.refresh(refreshed.refreshToken);
    expect(await statusAt(plainGateway, minted.accessToken)).toBe(401);
    const fresh = await plainIdp.login(sub);
    expect(claimsOf(fresh.accessToken).auth_time! * 1000).toBeGreaterThanOrEqual(terminatedAt);
    expect(await statusAt(plainGateway, fresh.accessToken)).toBe(401);

    await hrEvent('employee.rehired', sub);
    const afterRehire = await plainIdp.login(sub);
    await waitFor(
      'the gateway to serve a login after the rehire',
      async () => (await statusAt(plainGateway, afterRehire.accessToken)) === 200,
    );
  });
});
