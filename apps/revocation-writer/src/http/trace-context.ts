import type { FastifyRequest } from 'fastify';

/** The W3C trace-context headers of a request, to continue its trace through the outbox. */
export function traceContextOf(request: FastifyRequest): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate', 'baggage']) {
    const value = request.headers[name];
    if (typeof value === 'string') {
      carrier[name] = value;
    }
  }
  return carrier;
}
