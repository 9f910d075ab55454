import { json, type OpenApiFragment } from './openapi-common';

/** `GET /openapi.json` (openapi.controller.ts): the document describes itself too. */
export const OPENAPI_OPENAPI: OpenApiFragment = {
  name: 'openapi',
  paths: () => ({
    '/openapi.json': {
      get: {
        tags: ['health'],
        operationId: 'openApiDocument',
        summary: 'This document',
        security: [],
        responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
      },
    },
  }),
};
