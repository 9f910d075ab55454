import { Injectable, Logger } from '@nestjs/common';
import { backoffDelay } from '@rescind/contracts';
import { z } from 'zod';
import type { IssuerConfig, UpstreamConfig } from '../config/issuers';
import { WriterMetrics } from '../metrics/writer-metrics';

/** What the writer asks of an identity provider. */
export type UpstreamOperation = 'introspect' | 'revoke' | 'global_revoke';

/**
 * An upstream call that did not succeed. `retriable`: the IdP could not be reached, timed out or
 * answered 5xx/429, so the same call may succeed later; otherwise it refused the request for good.
 * The message names the issuer, the operation and the HTTP status, never a token or a secret.
 */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status: number | null,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** RFC 7662 §2.2: what the writer reads of an introspection answer (other members ignored). */
const IntrospectionSchema = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  sid: z.string().optional(),
  client_id: z.string().optional(),
  iss: z.string().optional(),
  exp: z.number().optional(),
  token_type: z.string().optional(),
});
export type Introspection = z.infer<typeof IntrospectionSchema>;

/** An issuer with upstream endpoints configured. */
export type UpstreamIssuer = Pick<IssuerConfig, 'issuer'> & { upstream: UpstreamConfig };

/**
 * The writer as a client of an issuer's identity provider: RFC 7662 introspection, RFC 7009
 * revocation, and draft-parecki-oauth-global-token-revocation, authenticated as the issuer's
 * `upstream` client. Every request is bounded by `timeoutMs`; `attempts` tries with capped
 * exponential back-off for what may succeed later. Outcomes are counted
 * (`rescind_upstream_requests_total`) and timed (`rescind_upstream_request_duration_seconds`).
 * Tokens and secrets never reach a log or a metric.
 */
@Injectable()
export class IdentityProviderClient {
  private readonly logger = new Logger(IdentityProviderClient.name);
  private readonly bearer = new Map<string, { token: string; expiresAtMs: number }>();

  constructor(private readonly metrics: WriterMetrics) {}

  /** RFC 7662 introspection of a token (a refresh token, hinted so). */
  async introspect(issuer: UpstreamIssuer, token: string): Promise<Introspection> {
    const endpoint = issuer.upstream.introspectionEndpoint;
    if (endpoint === undefined) {
      throw new UpstreamError(
        `issuer ${issuer.issuer} has no introspectionEndpoint`,
        false,
        null,
        0,
      );
    }
    const response = await this.call(issuer, 'introspect', () =>
      this.postForm(issuer, endpoint, { token, token_type_hint: 'refresh_token' }),
    );
    const parsed = IntrospectionSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new UpstreamError(
        `introspection at ${issuer.issuer} answered something other than an RFC 7662 response`,
        true,
        response.status,
        1,
      );
    }
    return parsed.data;
  }

  /** RFC 7009 revocation of a refresh token at the IdP; resolves once the IdP answered 200. */
  async revoke(issuer: UpstreamIssuer, token: string): Promise<void> {
    const endpoint = issuer.upstream.revocationEndpoint;
    if (endpoint === undefined) {
      throw new UpstreamError(`issuer ${issuer.issuer} has no revocationEndpoint`, false, null, 0);
    }
    const response = await this.call(issuer, 'revoke', () =>
      this.postForm(issuer, endpoint, { token, token_type_hint: 'refresh_token' }),
    );
    await response.arrayBuffer();
  }

  /**
   * Ends every session and grant of `sub` at the IdP (draft-parecki-oauth-global-token-revocation:
   * `{"sub_id": {"format": "iss_sub", ...}}`, 204). An unknown subject (404) counts as done: the
   * IdP holds nothing of it. One attempt per call: the durable worker retries.
   */
  async revokeSubject(issuer: UpstreamIssuer, sub: string): Promise<{ status: number }> {
    const endpoint = issuer.upstream.globalRevocationEndpoint;
    if (endpoint === undefined) {
      throw new UpstreamError(
        `issuer ${issuer.issuer} has no globalRevocationEndpoint`,
        false,
        null,
        0,
      );
    }
    const body = JSON.stringify({ sub_id: { format: 'iss_sub', iss: issuer.issuer, sub } });
    const response = await this.call(
      issuer,
      'global_revoke',
      async () =>
        fetch(endpoint, {
          method: 'POST',
          redirect: 'error',
          headers: {
            'content-type': 'application/json',
            authorization: await this.globalRevocationAuthorization(issuer),
          },
          body,
          signal: AbortSignal.timeout(issuer.upstream.timeoutMs),
        }),
      { attempts: 1, notFoundIsDone: true },
    );
    await response.arrayBuffer();
    return { status: response.status };
  }

  private postForm(
    issuer: UpstreamIssuer,
    endpoint: string,
    form: Record<string, string>,
  ): Promise<Response> {
    return fetch(endpoint, {
      method: 'POST',
      redirect: 'error',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        authorization: basic(issuer.upstream),
      },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(issuer.upstream.timeoutMs),
    });
  }

  /**
   * `client_secret_basic`, or with `tokenEndpoint` a client-credentials bearer token for
   * `globalRevocationScope`, cached until a minute before it expires.
   */
  private async globalRevocationAuthorization(issuer: UpstreamIssuer): Promise<string> {
    const { tokenEndpoint, globalRevocationScope } = issuer.upstream;
    if (tokenEndpoint === undefined) {
      return basic(issuer.upstream);
    }
    const cached = this.bearer.get(issuer.issuer);
    if (cached !== undefined && cached.expiresAtMs > Date.now()) {
      return `Bearer ${cached.token}`;
    }
    const response = await this.postForm(issuer, tokenEndpoint, {
      grant_type: 'client_credentials',
      ...(globalRevocationScope !== undefined ? { scope: globalRevocationScope } : {}),
    });
    const grant = z
      .object({ access_token: z.string().min(1), expires_in: z.number().optional() })
      .safeParse(await response.json().catch(() => undefined));
    if (!response.ok || !grant.success) {
      throw new UpstreamError(
        `the token endpoint of ${issuer.issuer} refused the client credentials grant (HTTP ${response.status})`,
        response.status >= 500 || response.status === 429,
        response.status,
        1,
      );
    }
    const lifetimeMs = (grant.data.expires_in ?? 300) * 1000;
    this.bearer.set(issuer.issuer, {
      token: grant.data.access_token,
      expiresAtMs: Date.now() + Math.max(0, lifetimeMs - 60_000),
    });
    return `Bearer ${grant.data.access_token}`;
  }

  /**
   * Runs one upstream request with bounded retries: network errors, timeouts, 429 and 5xx are
   * tried again (up to `attempts`), anything else non-2xx is final.
   */
  private async call(
    issuer: UpstreamIssuer,
    operation: UpstreamOperation,
    request: () => Promise<Response>,
    options: { attempts?: number; notFoundIsDone?: boolean } = {},
  ): Promise<Response> {
    const attempts = options.attempts ?? issuer.upstream.attempts;
    const labels = { issuer: issuer.issuer, operation };
    let last: UpstreamError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) {
        await sleep(backoffDelay(attempt - 1, { initialMs: 100, capMs: 2_000 }));
      }
      const started = performance.now();
      let response: Response;
      try {
        response = await request();
      } catch (error) {
        this.record(labels, 'unreachable', started);
        last = new UpstreamError(
          `${operation} at ${issuer.issuer} failed: ${describe(error)}`,
          true,
          null,
          attempt,
        );
        continue;
      }
      if (response.ok || (options.notFoundIsDone === true && response.status === 404)) {
        this.record(labels, 'ok', started);
        return response;
      }
      await response.arrayBuffer().catch(() => undefined);
      const retriable = response.status >= 500 || response.status === 429;
      this.record(labels, retriable ? 'unavailable' : 'refused', started);
      last = new UpstreamError(
        `${operation} at ${issuer.issuer} answered HTTP ${response.status}`,
        retriable,
        response.status,
        attempt,
      );
      if (!retriable) {
        break;
      }
    }
    this.logger.warn(last!.message);
    throw last!;
  }

  private record(
    labels: { issuer: string; operation: UpstreamOperation },
    outcome: 'ok' | 'unreachable' | 'unavailable' | 'refused',
    startedMs: number,
  ): void {
    this.metrics.upstreamRequests.add(1, { ...labels, outcome });
    this.metrics.upstreamDuration.record((performance.now() - startedMs) / 1000, labels);
  }
}

/** RFC 6749 §2.3.1: client id and secret form-encoded, then base64 (client_secret_basic). */
function basic(upstream: Pick<UpstreamConfig, 'clientId' | 'clientSecret'>): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  const pair = `${encode(upstream.clientId)}:${encode(upstream.clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return 'timed out';
  }
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
