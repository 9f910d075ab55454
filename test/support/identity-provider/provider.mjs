// A real OpenID provider for the end-to-end tests: node-oidc-provider (v9), configured as a
// workforce IdP that Rescind sits next to. Started as a child process by identity-provider.ts.
//
// Input: the environment variable IDP_OPTIONS, JSON:
//   { "port": 0, "host": "127.0.0.1", "clients": [<client metadata>…],
//     "trustedClients": ["rescind"],        // may introspect and revoke every client's tokens
//     "globalRevocation": false,           // serve POST /global-token-revocation
//     "globalRevocationClient": "rescind", // the client (client_secret_basic) allowed to call it
//     "audience": "https://api.example" }
// Output on stdout: one JSON line per event; the first is {"event":"ready","issuer":…,"port":…}.
// A line is never a token or a secret.
//
// What Rescind relies on, and how it is configured here (the README's node-oidc-provider notes):
// - JWT access tokens (RFC 9068) for one resource server, through features.resourceIndicators
//   (defaultResource, useGrantedResource, getResourceServerInfo -> accessTokenFormat 'jwt', RS256).
// - `sid` and `auth_time` in access tokens: node-oidc-provider puts neither into JWT access
//   tokens itself; extraTokenClaims adds them. It records a `sid` on the grant only for clients
//   with backchannel_logout_session_required (features.backchannelLogout, a
//   backchannel_logout_uri), so `app` registers one; with auth_time read from the authorization code,
//   refresh token or session the token is minted from: a token minted by refresh keeps the
//   ORIGINAL login's auth_time (the refresh token carries it across rotations).
// - RFC 7662 introspection and RFC 7009 revocation, with allowedPolicy letting the trusted
//   client `rescind` introspect and revoke tokens of other clients.
// - Opaque refresh tokens, rotated (node-oidc-provider's default for public clients), with an
//   absolute lifetime (a rotated token keeps the remaining TTL of the one it replaces).
import Provider, { errors } from 'oidc-provider';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** Token lifetimes (seconds): short enough for tests; reported in the ready line. */
const TTL = {
  AccessToken: 300,
  AuthorizationCode: 60,
  IdToken: 300,
  Interaction: 600,
  RefreshToken: 3600,
  Session: 3600,
  Grant: 3600,
};

const options = JSON.parse(process.env.IDP_OPTIONS ?? '{}');
const host = options.host ?? '127.0.0.1';
const audience = options.audience ?? 'https://api.example';
const trustedClients = new Set(options.trustedClients ?? ['rescind']);
const globalRevocationClient = options.globalRevocationClient ?? 'rescind';

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Storage: an in-memory adapter whose records can be listed, so the global token revocation can
// find every Session, Grant and token of an account (node-oidc-provider's own memory adapter is
// an LRU that cannot be enumerated).

/** model name -> id -> { payload, expiresAt (ms) } */
const stores = new Map();
const storeOf = (model) => {
  if (!stores.has(model)) {
    stores.set(model, new Map());
  }
  return stores.get(model);
};
const alive = (record) => record !== undefined && record.expiresAt > Date.now();

class ListableAdapter {
  constructor(model) {
    this.model = model;
    this.store = storeOf(model);
  }

  async upsert(id, payload, expiresIn) {
    this.store.set(id, {
      payload: structuredClone(payload),
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity,
    });
  }

  async find(id) {
    const record = this.store.get(id);
    return alive(record) ? structuredClone(record.payload) : undefined;
  }

  async findByUid(uid) {
    for (const record of this.store.values()) {
      if (alive(record) && record.payload.uid === uid) {
        return structuredClone(record.payload);
      }
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const record of this.store.values()) {
      if (alive(record) && record.payload.userCode === userCode) {
        return structuredClone(record.payload);
      }
    }
    return undefined;
  }

  async consume(id) {
    const record = this.store.get(id);
    if (record) {
      record.payload.consumed = Math.floor(Date.now() / 1000);
    }
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    for (const [id, record] of this.store) {
      if (record.payload.grantId === grantId) {
        this.store.delete(id);
      }
    }
  }
}

/**
 * Ends everything of `accountId` at this IdP: its sessions, its grants, and every artefact
 * (authorization codes, access and refresh tokens…) of those grants or of that account.
 * Returns how many records were destroyed.
 */
function destroyAccount(accountId) {
  const grantIds = new Set();
  for (const record of storeOf('Grant').values()) {
    if (record.payload.accountId === accountId) {
      grantIds.add(record.payload.jti);
    }
  }
  for (const record of storeOf('Session').values()) {
    if (record.payload.accountId !== accountId) {
      continue;
    }
    for (const authorization of Object.values(record.payload.authorizations ?? {})) {
      if (authorization.grantId) {
        grantIds.add(authorization.grantId);
      }
    }
  }
  let destroyed = 0;
  for (const [model, store] of stores) {
    for (const [id, record] of store) {
      const { payload } = record;
      const owned =
        payload.accountId === accountId ||
        (payload.grantId !== undefined && grantIds.has(payload.grantId)) ||
        (model === 'Grant' && grantIds.has(id));
      if (owned) {
        store.delete(id);
        destroyed += 1;
      }
    }
  }
  return destroyed;
}

// ---------------------------------------------------------------------------------------------
// Keys and configuration.

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `rs-${randomUUID()}`,
  alg: 'RS256',
  use: 'sig',
};

/** The grant start of the artefact `token` is minted from (seconds since the epoch). */
function authTimeOf(ctx) {
  const { AuthorizationCode, RefreshToken, DeviceCode, BackchannelAuthenticationRequest, Session } =
    ctx.oidc.entities;
  const source =
    AuthorizationCode ?? RefreshToken ?? DeviceCode ?? BackchannelAuthenticationRequest;
  return source?.authTime ?? Session?.authTime;
}

const allowedFor = (client, token) =>
  token.clientId === client.clientId || trustedClients.has(client.clientId);

const configuration = {
  adapter: ListableAdapter,
  clients: options.clients ?? [],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access'],
  ttl: {
    AccessToken: TTL.AccessToken,
    AuthorizationCode: TTL.AuthorizationCode,
    IdToken: TTL.IdToken,
    Interaction: TTL.Interaction,
    Session: TTL.Session,
    Grant: TTL.Grant,
    // Absolute: a rotated refresh token lives only as long as the one it replaces had left.
    RefreshToken: (ctx) =>
      ctx?.oidc?.entities.RotatedRefreshToken?.remainingTTL ?? TTL.RefreshToken,
  },
  // sid and auth_time in every access token (JWT); auth_time is the original login's.
  extraTokenClaims: async (ctx, token) => {
    if (token.kind !== 'AccessToken') {
      return undefined;
    }
    const authTime = authTimeOf(ctx);
    return {
      ...(token.sid !== undefined && { sid: token.sid }),
      ...(authTime !== undefined && { auth_time: authTime }),
    };
  },
  features: {
    devInteractions: { enabled: true },
    // Codes, refresh tokens and so access tokens carry `sid` only for clients that register
    // backchannel_logout_session_required (or that ask for the sid claim): the feature is on so
    // that `app` can.
    backchannelLogout: { enabled: true },
    introspection: {
      enabled: true,
      // RFC 7662 §4: only the token's own client, or a client trusted to (Rescind).
      allowedPolicy: async (_ctx, client, token) => allowedFor(client, token),
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => {
        if (allowedFor(client, token)) {
          return true;
        }
        if (client.clientAuthMethod === 'none') {
          return false;
        }
        throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== audience) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience,
          accessTokenTTL: TTL.AccessToken,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// draft-parecki-oauth-global-token-revocation: POST /global-token-revocation, client
// `rescind` by client_secret_basic, {"sub_id": {"format": "iss_sub", "iss", "sub"}} -> 204.

function clientSecretBasic(header) {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) {
    return undefined;
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    return undefined;
  }
  const decode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function secretMatches(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16_384) {
      throw new Error('too large');
    }
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function globalTokenRevocation(issuer) {
  const expected = (options.clients ?? []).find((c) => c.client_id === globalRevocationClient);
  return async (ctx, next) => {
    if (ctx.path !== '/global-token-revocation') {
      return next();
    }
    ctx.set('cache-control', 'no-store');
    const fail = (status, error, description) => {
      ctx.status = status;
      ctx.body = { error, error_description: description };
      emit({ event: 'global-token-revocation', status });
    };
    if (!options.globalRevocation) {
      return fail(404, 'not_found', 'not enabled');
    }
    if (ctx.method !== 'POST') {
      return fail(405, 'invalid_request', 'POST only');
    }
    const credentials = clientSecretBasic(ctx.get('authorization'));
    if (
      !credentials ||
      !expected ||
      credentials.id !== expected.client_id ||
      !secretMatches(credentials.secret, expected.client_secret)
    ) {
      ctx.set('www-authenticate', 'Basic realm="global-token-revocation"');
      return fail(401, 'invalid_client', 'client authentication failed');
    }
    if (!ctx.is('application/json')) {
      return fail(400, 'invalid_request', 'JSON body expected');
    }
    let body;
    try {
      body = await readJson(ctx.req);
    } catch {
      return fail(400, 'invalid_request', 'unreadable JSON');
    }
    const subId = body?.sub_id;
    if (subId?.format !== 'iss_sub' || typeof subId.sub !== 'string' || subId.sub === '') {
      return fail(400, 'invalid_request', 'sub_id must be an iss_sub subject identifier');
    }
    if (subId.iss !== issuer) {
      return fail(400, 'invalid_request', 'unknown issuer');
    }
    const destroyed = destroyAccount(subId.sub);
    ctx.status = 204;
    ctx.body = null;
    emit({ event: 'global-token-revocation', status: 204, sub: subId.sub, destroyed });
  };
}

// ---------------------------------------------------------------------------------------------
// Listen first (the port may be 0), then build the provider with its real issuer URL.

const server = createServer();
server.listen(options.port ?? 0, host, () => {
  const { port } = server.address();
  const issuer = options.issuer ?? `http://${host}:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.use(globalTokenRevocation(issuer));
  provider.on('server_error', (_ctx, error) => {
    process.stderr.write(`server_error: ${error?.stack ?? error}\n`);
  });
  provider.on('grant.revoked', (_ctx, grantId) => emit({ event: 'grant.revoked', grantId }));
  server.on('request', provider.callback());
  emit({ event: 'ready', issuer, port, ttl: TTL });
});

const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
