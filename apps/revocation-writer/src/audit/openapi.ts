import { json, type OpenApiFragment, problems, queryParameters, ref } from '../http/openapi-common';
import { AuditEntrySchema, AuditPageSchema, AuditQuerySchema } from './audit.dto';

/** `GET /v1/audit` (audit-log.controller.ts): a page, or the NDJSON export. */
export const AUDIT_OPENAPI: OpenApiFragment = {
  name: 'audit',
  tags: [{ name: 'audit', description: 'Append-only audit log' }],
  responseSchemas: { AuditEntry: AuditEntrySchema, AuditPage: AuditPageSchema },
  paths: () => ({
    '/v1/audit': {
      get: {
        tags: ['audit'],
        operationId: 'readAuditLog',
        summary: 'Read the audit log (needs `read`)',
        description:
          'A page, newest first; or, with `Accept: application/x-ndjson` or `format=ndjson`, ' +
          'every matching entry, oldest first, one JSON object per line (streamed).',
        parameters: queryParameters(AuditQuerySchema),
        responses: {
          '200': {
            description: 'A page, or the NDJSON export.',
            content: {
              ...json(ref('AuditPage')),
              // OpenAPI 3.1 cannot type the lines of a stream (3.2's itemSchema can).
              'application/x-ndjson': {
                schema: {
                  type: 'string',
                  description: 'One AuditEntry (#/components/schemas/AuditEntry) per line.',
                },
              },
            },
          },
          ...problems('BadRequest', 'Unauthorized', 'Forbidden', 'ServiceUnavailable'),
        },
      },
    },
  }),
};
