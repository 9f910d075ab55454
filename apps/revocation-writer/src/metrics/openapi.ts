import type { OpenApiFragment } from '../http/openapi-common';

/** `GET /metrics` (metrics.controller.ts): unauthenticated and never rate limited. */
export const METRICS_OPENAPI: OpenApiFragment = {
  name: 'metrics',
  paths: () => ({
    '/metrics': {
      get: {
        tags: ['health'],
        operationId: 'metrics',
        summary: 'Prometheus metrics (expose on an internal network only)',
        security: [],
        responses: {
          '200': {
            description: 'Prometheus text format.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
  }),
};
