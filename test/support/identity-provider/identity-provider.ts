import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { basicAuth } from '../oauth-requests';

/** What {@link startIdentityProvider} starts. */
export interface IdentityProviderOptions {
  /** Serve draft-parecki-oauth-global-token-revocation at POST /global-token-revocation. */
  globalRevocation?: boolean;
}

/** Tokens of one grant, as the token endpoint answered them. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
  idToken?: string;
}

/** A line the IdP process wrote: its readiness, a revoked grant, a global revocation call. */
export interface IdentityProviderEvent {
  event: string;
  [field: string]: unknown;
}

/** The IdP's token lifetimes (seconds), as the process reported them. */
export interface IdentityProviderTtl {
  AccessToken: number;
  RefreshToken: number;
  Session: number;
  Grant: number;
}

/** A running node-oidc-provider, and what a test drives it with over HTTP. */
export interface RunningIdentityProvider {
  issuer: string;
  jwksUri: string;
  /** `aud` of its JWT access tokens. */
  audience: string;
  ttl: IdentityProviderTtl;
  endpoints: {
    authorization: string;
    token: string;
    revocation: string;
    introspection: string;
    globalRevocation: string;
  };
  /** The confidential client Rescind's writer authenticates as (client_secret_basic). */
  rescindClient: { id: string; secret: string };
  /** The public client users log in to (authorization code + PKCE S256). */
  appClient: { id: string; redirectUri: string };
  /** What the process reported, in order. */
  events: IdentityProviderEvent[];
  /** A fresh login of `username` (new browser, so a new session): code + PKCE, with consent. */
  login(username: string): Promise<Tokens>;
  /** The refresh token grant; throws {@link IdentityProviderError} (e.g. `invalid_grant`). */
  refresh(refreshToken: string): Promise<Tokens>;
  /** RFC 7662 introspection as the rescind client. */
  introspect(token: string): Promise<Record<string, unknown>>;
  /** RFC 7009 revocation as the rescind client; the HTTP status. */
  revoke(token: string, tokenTypeHint?: string): Promise<number>;
  stop(): Promise<void>;
}

/** An OAuth error answered by the IdP (RFC 6749 §5.2). */
export class IdentityProviderError extends Error {
  override readonly name = 'IdentityProviderError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(`${status} ${error}${description ? `: ${description}` : ''}`);
  }
}

const APP_ID = 'app';
const RESCIND_ID = 'rescind';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const AUDIENCE = 'https://api.example';
const READY_TIMEOUT_MS = 15_000;

/**
 * Starts node-oidc-provider (provider.mjs) as a child process on a free loopback port, waits
 * until it serves its discovery document, and hands back its endpoints and a client to drive
 * logins, refreshes, introspection and revocation over real HTTP. Its stdout lines are events,
 * never tokens.
 */
export async function startIdentityProvider(
  options: IdentityProviderOptions = {},
): Promise<RunningIdentityProvider> {
  const rescindClient = { id: RESCIND_ID, secret: randomBytes(24).toString('base64url') };
  const idpOptions = {
    port: 0,
    host: '127.0.0.1',
    audience: AUDIENCE,
    globalRevocation: options.globalRevocation ?? false,
    trustedClients: [RESCIND_ID],
    globalRevocationClient: RESCIND_ID,
    clients: [
      {
        client_id: APP_ID,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // Without it node-oidc-provider records no sid on the grant (Client#includeSid); never
        // called by these tests (no RP-initiated logout).
        backchannel_logout_uri: 'http://127.0.0.1:9/backchannel-logout',
        backchannel_logout_session_required: true,
      },
      {
        client_id: RESCIND_ID,
        client_secret: rescindClient.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
  };
  const child = spawn(process.execPath, [join(__dirname, 'provider.mjs')], {
    env: { ...process.env, IDP_OPTIONS: JSON.stringify(idpOptions) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: IdentityProviderEvent[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await waitForReady(child, events, () => stderr);
    const issuer = ready.issuer as string;
    const discovery = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    const endpoints = {
      authorization: discovery.authorization_endpoint!,
      token: discovery.token_endpoint!,
      revocation: discovery.revocation_endpoint!,
      introspection: discovery.introspection_endpoint!,
      globalRevocation: `${issuer}/global-token-revocation`,
    };
    const rescindAuth = basicAuth(rescindClient.id, rescindClient.secret);
    const tokenRequest = (parameters: Record<string, string>) =>
      postForm(endpoints.token, { client_id: APP_ID, ...parameters }).then(tokensOf);

    return {
      issuer,
      jwksUri: discovery.jwks_uri!,
      audience: AUDIENCE,
      ttl: ready.ttl as IdentityProviderTtl,
      endpoints,
      rescindClient,
      appClient: { id: APP_ID, redirectUri: REDIRECT_URI },
      events,
      async login(username) {
        const verifier = randomBytes(32).toString('base64url');
        const code = await authorize(endpoints.authorization, username, verifier);
        return tokenRequest({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        });
      },
      refresh: (refreshToken) =>
        tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      async introspect(token) {
        const response = await postForm(endpoints.introspection, { token }, rescindAuth);
        if (response.status !== 200) throw await oauthError(response);
        return (await response.json()) as Record<string, unknown>;
      },
      async revoke(token, tokenTypeHint) {
        const response = await postForm(
          endpoints.revocation,
          { token, ...(tokenTypeHint && { token_type_hint: tokenTypeHint }) },
          rescindAuth,
        );
        await response.arrayBuffer();
        return response.status;
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

/** Collects the child's stdout events; resolves with the `ready` one. */
function waitForReady(
  child: ChildProcess,
  events: IdentityProviderEvent[],
  stderr: () => string,
): Promise<IdentityProviderEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the IdP did not start within ${READY_TIMEOUT_MS} ms: ${stderr()}`)),
      READY_TIMEOUT_MS,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the IdP exited (${code}) before it was ready: ${stderr()}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: IdentityProviderEvent;
      try {
        event = JSON.parse(line) as IdentityProviderEvent;
      } catch {
        return;
      }
      events.push(event);
      if (event.event === 'ready') {
        clearTimeout(timer);
        resolve(event);
      }
    });
  });
}

/**
 * The browser side of an authorization code request with PKCE S256 and `prompt=consent` (so
 * `offline_access` is granted and a refresh token issued): follows redirects by hand, keeps
 * cookies, signs in as `username` and consents at the dev interactions. Returns the code.
 */
async function authorize(
  authorizationEndpoint: string,
  username: string,
  verifier: string,
): Promise<string> {
  const jar = new CookieJar();
  const request = new URL(authorizationEndpoint);
  request.search = new URLSearchParams({
    client_id: APP_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access api',
    prompt: 'consent',
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  let url = request.toString();
  let form: Record<string, string> | undefined;
  for (let hop = 0; hop < 20; hop += 1) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    jar.store(response.headers.getSetCookie());
    form = undefined;
    if (response.status >= 300 && response.status < 400) {
      await response.arrayBuffer();
      const location = new URL(response.headers.get('location')!, url);
      if (location.href.startsWith(REDIRECT_URI)) {
        const code = location.searchParams.get('code');
        if (code) return code;
        throw new IdentityProviderError(
          response.status,
          location.searchParams.get('error') ?? 'no_code',
          location.searchParams.get('error_description') ?? undefined,
        );
      }
      url = location.href;
      continue;
    }
    const page = await response.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (response.status !== 200 || !new URL(url).pathname.startsWith('/interaction/') || !prompt) {
      throw new Error(
        `unexpected answer during login: ${response.status} at ${new URL(url).pathname}`,
      );
    }
    form = prompt === 'login' ? { prompt, login: username, password: 'any' } : { prompt };
  }
  throw new Error('too many redirects during login');
}

/** Just enough of a cookie jar for one login: every cookie goes back to every path. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, date] = a.trim().split('=');
        return key?.toLowerCase() === 'expires' && Date.parse(date ?? '') <= Date.now();
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function postForm(
  url: string,
  parameters: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(parameters).toString(),
  });
}

async function tokensOf(response: Response): Promise<Tokens> {
  if (response.status !== 200) throw await oauthError(response);
  const body = (await response.json()) as Record<string, string>;
  if (!body.access_token || !body.refresh_token) {
    throw new Error('the token endpoint issued no access or refresh token');
  }
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    ...(body.id_token && { idToken: body.id_token }),
  };
}

async function oauthError(response: Response): Promise<IdentityProviderError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: string; error_description?: string };
    return new IdentityProviderError(
      response.status,
      body.error ?? 'unknown',
      body.error_description,
    );
  } catch {
    return new IdentityProviderError(response.status, 'unknown');
  }
}
