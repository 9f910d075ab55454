/**
 * What the request log may hold (docs/design.md promise 7: no raw token is logged). An allow-list,
 * not a deny-list: a credential can arrive under any header (`x-api-key`, a proxy's own) or in the
 * query string (`?token=…`, `?access_token=…`, RFC 6750 §2.3), and a deny-list misses the next
 * one. So the log keeps the method, the path without its query, and a few headers that never carry
 * a secret; everything else is left out, not masked.
 */

/** Headers whose values are logged as received. */
const LOGGED_HEADERS = [
  'host',
  'user-agent',
  'content-type',
  'content-length',
  'accept',
  'traceparent',
  'webhook-id',
  'webhook-timestamp',
  'x-forwarded-for',
  'x-request-id',
] as const;

/** The request as pino-std-serializers hands it to a custom serializer. */
interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  remoteAddress?: string;
  remotePort?: number;
}

/** The URL as logged: the query string can carry a token (RFC 6750 §2.3) or a search for one. */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : `${url.slice(0, query)}?[query omitted]`;
}

/** pino-http `serializers.req`: the request without its query string and without secret headers. */
export function requestLogFields(req: SerializedRequest): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) {
    const value = req.headers?.[name];
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  return {
    id: req.id,
    method: req.method,
    url: loggedUrl(req.url ?? ''),
    headers,
    remoteAddress: req.remoteAddress,
    remotePort: req.remotePort,
  };
}

/** pino-http `serializers.res`: the status and the response headers that carry no secret. */
export function responseLogFields(res: {
  statusCode?: number;
  headers?: Record<string, unknown>;
}): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const name of ['content-type', 'content-length', 'retry-after', 'idempotent-replayed']) {
    const value = res.headers?.[name];
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  return { statusCode: res.statusCode, headers };
}

/**
 * pino-http `autoLogging.ignore`: health probes (every few seconds from each load balancer and
 * orchestrator) are not logged. Judged by `originalUrl`: under Fastify the logger runs as Nest
 * middleware (@fastify/middie), which hands it `url` with the mount path cut off.
 */
export function isHealthProbe(req: { url?: string; originalUrl?: string }): boolean {
  const path = req.originalUrl ?? req.url ?? '';
  return path === '/health' || path.startsWith('/health/') || path.startsWith('/health?');
}
