import type { FastifyInstance } from 'fastify';
import type { WriterMetrics } from '../metrics/writer-metrics';

/**
 * Counts every answered request by method, route and status, and times it: the revocation API's
 * error rate (M3) with the refusals of the guards (401, 403, 429) and of the hooks before them
 * (Host, shutting down) included. The route is Fastify's pattern (`/v1/events/:source`), never
 * the path itself, so no identifier or token in a URL reaches a label and the series stay few;
 * a request that matched no route is `unmatched`.
 */
export function countRequests(fastify: FastifyInstance, metrics: WriterMetrics): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    metrics.httpRequests.add(1, { method: request.method, route, status: String(status) });
    metrics.httpDuration.record(reply.elapsedTime / 1000, {
      method: request.method,
      route,
      status_class: `${Math.floor(status / 100)}xx`,
    });
    done();
  });
}
