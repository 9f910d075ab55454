import { type OpenApiFragment, problem } from '../http/openapi-common';

/** `GET /v1/deny-list/snapshot` (snapshot.controller.ts): how an enforcement point starts. */
export const SNAPSHOT_OPENAPI: OpenApiFragment = {
  name: 'snapshot',
  paths: () => ({
    '/v1/deny-list/snapshot': {
      get: {
        tags: ['enforcement'],
        operationId: 'denyListSnapshot',
        summary:
          'Every active rule as NDJSON: a header line {v, type: "snapshot", watermark, ' +
          'generatedAt}, one rule.set event per line, then an end line {v, type: ' +
          '"snapshot.end", rules} without which the snapshot was cut short (needs `read`)',
        security: [{ bearerAuth: [] }],
        responses: {
          '200': {
            description: 'Streamed; header `rescind-snapshot-watermark` carries the watermark.',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
          '401': problem('Unauthorized'),
          '403': problem('Forbidden'),
          '503': problem('ServiceUnavailable'),
        },
      },
    },
  }),
};
