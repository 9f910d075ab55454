import type { TokenClaims } from '@rescind/rules';
import type { RevocationConsumer } from '../consumer';
import type { CheckDecision } from '../decision';

/**
 * Options shared by {@link RevocationGuard}, {@link revocationMiddleware} and
 * {@link revocationFastifyHook}: where the verified claims are, and how to answer.
 *
 * @example
 * const options: RevocationEnforcementOptions<{ auth?: { payload: JWTPayload; kid?: string } }> = {
 *   // Claims put somewhere else than request.user by the authentication step:
 *   claimsFrom: (request) => request.auth && { ...request.auth.payload, kid: request.auth.kid },
 *   retryAfterSeconds: 2,
 * };
 */
export interface RevocationEnforcementOptions<TRequest = unknown> {
  /**
   * Reads the verified token claims from the request. Default: `request.user`, as set by a
   * Passport or jose JWT step, when it is an object. Return `undefined` (or `null`) when the
   * request carries no verified token. Add `kid` from the JWT header when key rules are used.
   * The claims must come from a verified token: this step checks revocation, not signatures.
   */
  // Method syntax on purpose: an extractor may declare the narrower request type it expects.
  claimsFrom?(request: TRequest): TokenClaims | null | undefined;
  /**
   * What to do with a request that has no claims (the authentication step did not run, or
   * let an anonymous request through). `deny` (default) answers 401 `WWW-Authenticate: Bearer`;
   * `allow` lets it through, for routes where anonymous access is fine.
   */
  onMissingClaims?: 'deny' | 'allow';
  /** `Retry-After` (seconds) on 503 while the deny-list is stale or not loaded. Default 5. */
  retryAfterSeconds?: number;
  /** `realm` of the `WWW-Authenticate` challenge (RFC 6750 §3). Default: none. */
  realm?: string;
}

/**
 * Stable codes of a denial, as in the writer's problem details.
 *
 * @example
 * if (denial.body.code === 'token_revoked') metrics.revokedRequests.inc();
 */
export type RevocationDenialCode =
  'token_revoked' | 'unauthenticated' | 'revocation_list_stale' | 'revocation_list_not_ready';

/**
 * The RFC 9457 problem details body of a denial, with a stable `code` and a `retriable` flag.
 *
 * @example
 * const problem: RevocationProblem = denial.body;
 * console.log(problem.status, problem.code); // 401 'token_revoked'
 */
export interface RevocationProblem {
  type: string;
  title: string;
  status: 401 | 503;
  detail: string;
  code: RevocationDenialCode;
  retriable: boolean;
}

/**
 * A complete HTTP answer to a request that must not pass: status, headers (lower-case names)
 * and body. Built once per enforcer and shared by all requests it denies, so never mutate it.
 *
 * @example
 * const denial = enforce(request);
 * if (denial) {
 *   response.writeHead(denial.status, denial.headers).end(denial.payload);
 * }
 */
export interface RevocationDenial {
  /** Why: the consumer's decision, or `no-claims` when the request had no verified claims. */
  readonly reason: Exclude<CheckDecision['reason'], 'allowed' | 'stale-allowed'> | 'no-claims';
  readonly status: 401 | 503;
  /**
   * `www-authenticate` on 401 (`Bearer error="invalid_token", error_description="token
   * revoked"` for a revoked token, a bare `Bearer` challenge without claims; RFC 6750 §3.1),
   * `retry-after` on 503, and `content-type: application/problem+json`.
   */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<RevocationProblem>;
  /** `body` serialized as JSON. */
  readonly payload: string;
}

/**
 * Decides one request: `undefined` to let it through, or the {@link RevocationDenial} to answer.
 *
 * @example
 * const enforce: RevocationEnforcer<IncomingMessage> = createRevocationEnforcer(consumer);
 * const denial = enforce(request);
 */
export type RevocationEnforcer<TRequest> = (request: TRequest) => RevocationDenial | undefined;

/** The RFC 6750 §3 challenge: `Bearer realm="…", error="…", error_description="…"`. */
function challenge(realm: string | undefined, error?: { code: string; description: string }) {
  const params = [
    ...(realm === undefined ? [] : [`realm="${realm}"`]),
    ...(error === undefined
      ? []
      : [`error="${error.code}"`, `error_description="${error.description}"`]),
  ];
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
}

function denial(
  reason: RevocationDenial['reason'],
  body: Omit<RevocationProblem, 'type' | 'title' | 'retriable'>,
  headers: Record<string, string>,
): RevocationDenial {
  const problem: RevocationProblem = Object.freeze({
    type: `urn:rescind:problem:${body.code}`,
    title: body.status === 401 ? 'Unauthorized' : 'Service Unavailable',
    status: body.status,
    detail: body.detail,
    code: body.code,
    retriable: body.status === 503,
  });
  return Object.freeze({
    reason,
    status: body.status,
    headers: Object.freeze({ ...headers, 'content-type': 'application/problem+json' }),
    body: problem,
    payload: JSON.stringify(problem),
  });
}

/** `request.user` when it is an object: what Passport and most JWT steps set. */
function claimsFromUser(request: unknown): TokenClaims | undefined {
  const user = (request as { user?: unknown } | null | undefined)?.user;
  return typeof user === 'object' && user !== null ? (user as TokenClaims) : undefined;
}

/**
 * Builds the decision function behind every integration: read the claims, one
 * `consumer.check()`, and a branch. Every answer is built up front, so the request path does no
 * allocation. Use it to write an integration for another framework (Koa, Hono, h3, ...).
 *
 * - revoked → 401 `WWW-Authenticate: Bearer error="invalid_token", error_description="token revoked"`
 * - stale under `fail-closed`, or not loaded yet → 503 with `Retry-After`
 * - no claims on the request → 401 `WWW-Authenticate: Bearer` (unless `onMissingClaims: 'allow'`)
 *
 * @example
 * import { createRevocationEnforcer } from '@rescind/revocation-consumer';
 *
 * const enforce = createRevocationEnforcer<Koa.Context>(consumer, { claimsFrom: (ctx) => ctx.state.user });
 * app.use(async (ctx, next) => {
 *   const denial = enforce(ctx);
 *   if (denial) {
 *     ctx.status = denial.status;
 *     ctx.set(denial.headers);
 *     ctx.body = denial.body;
 *     return;
 *   }
 *   await next();
 * });
 */
export function createRevocationEnforcer<TRequest = unknown>(
  consumer: RevocationConsumer,
  options: RevocationEnforcementOptions<TRequest> = {},
): RevocationEnforcer<TRequest> {
  const { realm, onMissingClaims = 'deny', retryAfterSeconds = 5 } = options;
  if (realm !== undefined && !/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(realm)) {
    throw new TypeError('realm must be printable ASCII without " or \\ (RFC 6750 §3)');
  }
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new TypeError('retryAfterSeconds must be a non-negative integer');
  }
  const claimsFrom = options.claimsFrom?.bind(options) ?? claimsFromUser;
  const retryAfter = { 'retry-after': String(retryAfterSeconds) };
  const noClaims =
    onMissingClaims === 'allow'
      ? undefined
      : denial(
          'no-claims',
          {
            status: 401,
            code: 'unauthenticated',
            detail: 'a verified bearer token is required',
          },
          { 'www-authenticate': challenge(realm) },
        );
  const denials: Record<Exclude<RevocationDenial['reason'], 'no-claims'>, RevocationDenial> = {
    revoked: denial(
      'revoked',
      { status: 401, code: 'token_revoked', detail: 'the token has been revoked' },
      {
        'www-authenticate': challenge(realm, {
          code: 'invalid_token',
          description: 'token revoked',
        }),
      },
    ),
    stale: denial(
      'stale',
      {
        status: 503,
        code: 'revocation_list_stale',
        detail: 'the revocation list is out of date; the request cannot be checked',
      },
      retryAfter,
    ),
    'not-ready': denial(
      'not-ready',
      {
        status: 503,
        code: 'revocation_list_not_ready',
        detail: 'the revocation list is not loaded yet; the request cannot be checked',
      },
      retryAfter,
    ),
  };

  return (request) => {
    const claims = claimsFrom(request);
    if (claims === undefined || claims === null) {
      return noClaims;
    }
    const decision = consumer.check(claims);
    return decision.allowed ? undefined : denials[decision.reason];
  };
}
