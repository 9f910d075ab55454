import { type EventSourceName, SOURCE_EVENT_SCHEMAS } from '@rescind/contracts';
import {
  json,
  type JsonObject,
  type OpenApiFragment,
  JSON_WRITE_PROBLEMS,
  ref,
} from '../http/openapi-common';
import { RevocationResultSchema } from '../write-path/revocation-result';

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
  responseSchemas: { EventAccepted: RevocationResultSchema },
  paths: () => ({
    '/v1/events/hr': eventPath('hr', 'HrEventV1', 'An HR event (offboarding)'),
    '/v1/events/idp': eventPath('idp', 'IdpEventV1', 'An identity-provider event'),
    '/v1/events/siem': eventPath('siem', 'SiemEventV1', 'A SIEM / SOAR event'),
  }),
};
