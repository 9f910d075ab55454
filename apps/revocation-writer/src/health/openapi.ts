import { json, type JsonObject, type OpenApiFragment } from '../http/openapi-common';

/** Terminus' health result, written by hand: it is not one of our schemas. */
const HEALTH_RESULT: JsonObject = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { type: ['object', 'null'], additionalProperties: { type: 'object' } },
    error: { type: ['object', 'null'], additionalProperties: { type: 'object' } },
    details: { type: 'object', additionalProperties: { type: 'object' } },
  },
  required: ['status'],
};

/** The probes (health.controller.ts): unauthenticated and never rate limited. */
export const HEALTH_OPENAPI: OpenApiFragment = {
  name: 'health',
  tags: [{ name: 'health', description: 'Liveness and readiness' }],
  paths: () => ({
    '/health/live': {
      get: {
        tags: ['health'],
        operationId: 'live',
        summary: 'The process is alive',
        security: [],
        responses: {
          '200': {
            description: 'Alive.',
            content: json({
              type: 'object',
              properties: { status: { const: 'ok' } },
              required: ['status'],
            }),
          },
        },
      },
    },
    '/health/ready': {
      get: {
        tags: ['health'],
        operationId: 'ready',
        summary: 'Can accept revocations (PostgreSQL answers)',
        security: [],
        responses: {
          '200': { description: 'Ready.', content: json(HEALTH_RESULT) },
          '503': { description: 'Not ready.', content: json(HEALTH_RESULT) },
        },
      },
    },
    '/health': {
      get: {
        tags: ['health'],
        operationId: 'health',
        summary: 'PostgreSQL and Kafka publishing, with the outbox backlog',
        security: [],
        responses: {
          '200': { description: 'Everything is up.', content: json(HEALTH_RESULT) },
          '503': { description: 'Something is down.', content: json(HEALTH_RESULT) },
        },
      },
    },
  }),
};
