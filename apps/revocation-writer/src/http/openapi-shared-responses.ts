import { type JsonObject, oauthError, problem, ref, RETRY_AFTER } from './openapi-common';

/** One operation of the document, as the shared-response table sees it. */
export interface OperationContext {
  path: string;
  method: string;
  operation: JsonObject & { responses: Record<string, JsonObject>; security?: unknown[] };
}

/**
 * Routes that are never rate limited: `@SkipThrottle(ALL_THROTTLERS)` on the health controller
 * and the metrics controller. The OpenAPI test checks this list against the running app.
 */
export const UNTHROTTLED_PATHS: ReadonlySet<string> = new Set([
  '/health/live',
  '/health/ready',
  '/health',
  '/metrics',
]);

/** OAuth endpoints answer their errors in the RFC 6749 §5.2 shape (OAuthExceptionFilter). */
const isOAuth = ({ path }: OperationContext) => path.startsWith('/oauth/');
/** 405-only operations: routed, but answered before anything else runs. */
const isMethodNotAllowed = ({ operation }: OperationContext) => '405' in operation.responses;
/** An API credential or OAuth client is looked up in PostgreSQL for every request. */
const isAuthenticated = ({ operation }: OperationContext) =>
  (operation.security ?? [{ bearerAuth: [] }]).some(
    (requirement) => Object.keys(requirement as JsonObject).length > 0,
  );

/**
 * Answers that whole groups of operations give, added to each operation of the group that does
 * not describe the status itself: what Node refuses before routing (every operation), the rate
 * limiter (every throttled route), an unreachable PostgreSQL (every authenticated operation).
 * A new cross-cutting answer (a status every operation of some kind gives) is one more entry here,
 * not an edit of every operation.
 */
export const SHARED_RESPONSES: ReadonlyArray<{
  status: string;
  appliesTo: (op: OperationContext) => boolean;
  response: (op: OperationContext) => JsonObject;
}> = [
  // Answered by Node before any route or filter: problem+json whatever the endpoint.
  { status: '400', appliesTo: () => true, response: () => problem('BadRequest') },
  { status: '408', appliesTo: () => true, response: () => problem('RequestTimeout') },
  { status: '431', appliesTo: () => true, response: () => problem('HeaderTooLarge') },
  // The body limit, before parsing; RFC 8935 §2.3 makes it a 400 at /ssf/events (declared there).
  {
    status: '413',
    appliesTo: (op) => op.operation.requestBody !== undefined && !op.path.startsWith('/ssf/'),
    response: (op) =>
      isOAuth(op)
        ? oauthError('invalid_request: the body exceeds HTTP_BODY_LIMIT_BYTES.')
        : problem('ContentTooLarge'),
  },
  // Fastify refuses an overlong path parameter before routing (maxParamLength).
  {
    status: '414',
    appliesTo: ({ path }) => path.includes('{'),
    response: () => problem('UriTooLong'),
  },
  {
    status: '429',
    appliesTo: (op) => !UNTHROTTLED_PATHS.has(op.path),
    response: (op) =>
      isOAuth(op)
        ? oauthError('temporarily_unavailable: rate limited; retry after Retry-After.', RETRY_AFTER)
        : problem('TooManyRequests'),
  },
  {
    status: '503',
    appliesTo: (op) => isAuthenticated(op) && !isMethodNotAllowed(op),
    response: (op) =>
      isOAuth(op)
        ? oauthError('temporarily_unavailable; retry after Retry-After.', RETRY_AFTER)
        : problem('ServiceUnavailable'),
  },
];

/** Node's answers before routing are problem+json even where the endpoint's own errors are not. */
const TRANSPORT_STATUSES = new Set(['400', '408', '431']);

/** `paths` with the shared responses added to every operation they apply to. */
export function withSharedResponses(paths: Record<string, JsonObject>): Record<string, JsonObject> {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, JsonObject>)) {
      const op = { path, method, operation } as OperationContext;
      const responses = op.operation.responses;
      for (const shared of SHARED_RESPONSES) {
        if (!shared.appliesTo(op)) {
          continue;
        }
        const own = responses[shared.status];
        if (own === undefined) {
          responses[shared.status] = shared.response(op);
        } else if (
          TRANSPORT_STATUSES.has(shared.status) &&
          own.content !== undefined &&
          !('application/problem+json' in (own.content as JsonObject))
        ) {
          // An endpoint's own 400 shape (RFC 6749 §5.2, RFC 8935 §2.3), or Node's problem+json.
          responses[shared.status] = {
            ...own,
            description: `${String(own.description)} A request that is not valid HTTP/1.1 gets problem+json instead.`,
            content: {
              ...(own.content as JsonObject),
              'application/problem+json': { schema: ref('Problem') },
            },
          };
        }
      }
    }
  }
  return paths;
}
