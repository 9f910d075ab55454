import { type EventSourceName, SOURCE_EVENT_SCHEMAS } from '@rescind/contracts';
import {
  json,
  type JsonObject,
  type OpenApiFragment,
  JSON_WRITE_PROBLEMS,
  ref,
} from '../http/openapi-common';
import { RevocationResultSchema } from '../write-path/revocation-result';
import { BulkAnswerSchema } from './bulk-events';

/** `POST /v1/events/{source}`: every source the same way, each with its own event schema. */
function eventPath(source: EventSourceName, schema: string, summary: string): JsonObject {
  return {
    post: {
      tags: ['ingest'],
      operationId: `ingest${schema}`,
      summary: `${summary}: revokes what it implies (needs \`ingest:${source}\`)`,
      security: [{ bearerAuth: [] }, { webhookSignature: [] }],
      requestBody: { required: true, content: json(ref(schema)) },
      responses: {
        '202': { description: 'Committed.', content: json(ref('EventAccepted')) },
        ...JSON_WRITE_PROBLEMS,
      },
    },
  };
}

/** `POST /v1/events/{source}/bulk`: many events of one source in one request. */
function bulkPath(source: EventSourceName, schema: string): JsonObject {
  return {
    post: {
      tags: ['ingest'],
      operationId: `ingestBulk${schema}`,
      summary: `Many ${source} events at once, each answered on its own (needs \`ingest:${source}\`)`,
      description:
        'NDJSON (one event per line) or a JSON array, at most BULK_MAX_EVENTS events and ' +
        'BULK_BODY_LIMIT_BYTES. Each event is validated, authorized and recorded as if it came ' +
        'alone and gets its own status in `results`, in order; the events share transactions, ' +
        'and a refused one fails alone. More rules in the request than BULK_CONFIRM_THRESHOLD ' +
        'need `?confirm=true` and the `ingest:bulk` permission. 503 only when nothing was stored ' +
        'and all of it is worth retrying.',
      security: [{ bearerAuth: [] }],
      parameters: [
        {
          name: 'confirm',
          in: 'query',
          required: false,
          schema: { type: 'string', enum: ['true'] },
          description: 'Confirms a request with more rules than BULK_CONFIRM_THRESHOLD.',
        },
      ],
      requestBody: {
        required: true,
        content: {
          'application/x-ndjson': { schema: { type: 'string' } },
          ...json({ type: 'array', items: ref(schema) }),
        },
      },
      responses: {
        '200': { description: 'One outcome per event.', content: json(ref('BulkAnswer')) },
        ...JSON_WRITE_PROBLEMS,
      },
    },
  };
}

/** The event webhooks (source-events.controller.ts); the SSF push is ssf/openapi.ts. */
export const INGEST_OPENAPI: OpenApiFragment = {
  name: 'ingest',
  tags: [{ name: 'ingest', description: 'Events from identity, HR and security systems' }],
  requestSchemas: {
    HrEventV1: SOURCE_EVENT_SCHEMAS.hr,
    IdpEventV1: SOURCE_EVENT_SCHEMAS.idp,
    SiemEventV1: SOURCE_EVENT_SCHEMAS.siem,
  },
  // The 202 body is what the use case returns: one schema for both.
  responseSchemas: { EventAccepted: RevocationResultSchema, BulkAnswer: BulkAnswerSchema },
  paths: () => ({
    '/v1/events/hr': eventPath('hr', 'HrEventV1', 'An HR event (offboarding)'),
    '/v1/events/idp': eventPath('idp', 'IdpEventV1', 'An identity-provider event'),
    '/v1/events/siem': eventPath('siem', 'SiemEventV1', 'A SIEM / SOAR event'),
    '/v1/events/hr/bulk': bulkPath('hr', 'HrEventV1'),
    '/v1/events/idp/bulk': bulkPath('idp', 'IdpEventV1'),
    '/v1/events/siem/bulk': bulkPath('siem', 'SiemEventV1'),
  }),
};
