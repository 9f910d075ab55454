import { type EventSourceName, SOURCE_EVENT_SCHEMAS } from '@rescind/contracts';
import { z } from 'zod';
import { AuditEntrySchema, AuditPageSchema, AuditQuerySchema } from './dto/audit.dto';
import { ProblemSchema } from './dto/common.dto';
import {
  CreatedRevocationSchema,
  CreateRevocationSchema,
  DryRunSchema,
  ListRulesQuerySchema,
  ReinstateSchema,
  RuleRequestSchema,
  RulePageSchema,
  RuleResourceSchema,
} from './dto/revocations.dto';

type JsonObject = Record<string, unknown>;

/** What the event endpoints answer (RevocationResult of the ingest use case). */
const EventAcceptedSchema = z.object({
  revocationId: z.uuid().nullable(),
  seq: z.number().int().positive().nullable(),
  duplicate: z.boolean(),
  rules: z.array(
    z.object({ revocationId: z.uuid(), key: z.string(), seq: z.number().int().positive() }),
  ),
});

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

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonObject): JsonObject => ({ 'application/json': { schema } });

/** JSON Schemas (2020-12, the dialect of OpenAPI 3.1) of zod schemas, cross-referenced by name. */
function componentSchemas(
  schemas: Record<string, z.ZodType>,
  io: 'input' | 'output',
  override?: (ctx: { zodSchema: unknown; jsonSchema: JsonObject }) => void,
): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) {
    registry.add(schema, { id });
  }
  const { schemas: generated } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
    ...(override ? { override } : {}),
  });
  // `$schema` and `$id` belong to standalone documents; inside components the dialect is the
  // document's `jsonSchemaDialect`, and a fragment-only `$id` is not allowed by 2020-12.
  return Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
  );
}

/** Query parameters from a zod object schema: one parameter per property. */
function queryParameters(schema: z.ZodObject): JsonObject[] {
  const generated = z.toJSONSchema(schema, { io: 'input' });
  const properties = (generated.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set(generated.required ?? []);
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(typeof description === 'string' ? { description } : {}),
    schema: property,
  }));
}

/** Every error answer is RFC 9457 problem+json. */
const PROBLEMS: Record<string, string> = {
  BadRequest: 'Malformed JSON, or a query parameter or header that does not fit its schema.',
  Unauthorized: 'Missing, unknown or disabled credential.',
  Forbidden: "The credential's role does not allow this (scope, bulk size or permission).",
  NotFound: 'No such rule (unknown or malformed id).',
  Conflict: 'Idempotency-Key reused for another request, or the rule is no longer active.',
  ContentTooLarge: 'The body exceeds HTTP_BODY_LIMIT_BYTES; refused before parsing.',
  UnsupportedMediaType: 'The body is not JSON.',
  UnprocessableContent:
    'The body violates the schema, or a broad or bulk revocation lacks `confirm: true` ' +
    '(code `confirmation_required`). `errors` names each offending member.',
  ServiceUnavailable: 'PostgreSQL is unreachable: nothing was stored. Retry after Retry-After.',
};
const problem = (name: keyof typeof PROBLEMS): JsonObject => ({
  $ref: `#/components/responses/${name}`,
});

/** The `Idempotency-Key` request header of the operator API's writes. */
const idempotencyKeyHeader = (description: string): JsonObject => ({
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description,
  schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' },
});

/** RFC 6749 §5.2 error body of the OAuth endpoints. */
const OAUTH_ERROR: JsonObject = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

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
        '400': problem('BadRequest'),
        '401': problem('Unauthorized'),
        '403': problem('Forbidden'),
        '409': problem('Conflict'),
        '413': problem('ContentTooLarge'),
        '415': problem('UnsupportedMediaType'),
        '422': problem('UnprocessableContent'),
        '503': problem('ServiceUnavailable'),
      },
    },
  };
}

export interface OpenApiOptions {
  /** Claims rules may match in this deployment (standard and custom). */
  allowedClaims: readonly string[];
  /** Claims that need `confirm: true` and a role allowed broad scopes. */
  broadClaims: readonly string[];
  bulkConfirmThreshold: number;
}

/**
 * The writer's HTTP API as an OpenAPI 3.1 document. Request and response schemas are generated
 * from the zod schemas that validate and shape them, so the document cannot drift from the code;
 * paths are assembled here. Claims, broad claims and the bulk threshold are this deployment's.
 */
export function buildOpenApiDocument(options: OpenApiOptions): JsonObject {
  const claimSchema = RuleRequestSchema.shape.claim;
  const requests = componentSchemas(
    {
      CreateRevocationRequest: CreateRevocationSchema,
      ReinstateRequest: ReinstateSchema,
      HrEventV1: SOURCE_EVENT_SCHEMAS.hr,
      IdpEventV1: SOURCE_EVENT_SCHEMAS.idp,
      SiemEventV1: SOURCE_EVENT_SCHEMAS.siem,
    },
    'input',
    ({ zodSchema, jsonSchema }) => {
      if (zodSchema === claimSchema) {
        jsonSchema.enum = [...options.allowedClaims];
      }
    },
  );
  const responses = componentSchemas(
    {
      Rule: RuleResourceSchema,
      CreatedRevocation: CreatedRevocationSchema,
      DryRun: DryRunSchema,
      RulePage: RulePageSchema,
      AuditEntry: AuditEntrySchema,
      AuditPage: AuditPageSchema,
      EventAccepted: EventAcceptedSchema,
      Problem: ProblemSchema,
    },
    'output',
  );

  const ruleId = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'Rule id (a malformed id is an unknown one: 404).',
    schema: { type: 'string' },
  };
  const broad = options.broadClaims.join(', ');

  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Rescind revocation writer',
      version: '1.0.0',
      description:
        'Token-revocation rules: ingest, operator API and audit log. Every change gets a global ' +
        '`seq` and reaches enforcement points through Kafka. Errors are RFC 9457 problem details.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'revocations', description: 'Operator API for revocation rules' },
      { name: 'audit', description: 'Append-only audit log' },
      { name: 'ingest', description: 'Events from identity, HR and security systems' },
      { name: 'health', description: 'Liveness and readiness' },
    ],
    paths: {
      '/v1/revocations': {
        post: {
          tags: ['revocations'],
          operationId: 'createRevocation',
          summary: 'Revoke: create or raise rules (or dry-run)',
          description:
            `Each rule's claim must be one the caller's role may revoke. Broad claims (${broad}) ` +
            `need \`confirm: true\` and the admin role; more than ${options.bulkConfirmThreshold} ` +
            'rules need `confirm: true` and the admin role. An existing active rule is raised, ' +
            'never lowered. `dryRun: true` authorizes the same way and writes nothing.',
          parameters: [
            idempotencyKeyHeader(
              'Retries with the same key get the first answer (`duplicate: true`); the same key ' +
                'with another body is 409. Default: a fresh id per request.',
            ),
          ],
          requestBody: { required: true, content: json(ref('CreateRevocationRequest')) },
          responses: {
            '201': {
              description: 'Committed; the rule versions written, in request order.',
              headers: { Location: { schema: { type: 'string' }, description: 'The first rule.' } },
              content: json(ref('CreatedRevocation')),
            },
            '200': { description: 'Dry run: what would be written.', content: json(ref('DryRun')) },
            '400': problem('BadRequest'),
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '409': problem('Conflict'),
            '413': problem('ContentTooLarge'),
            '415': problem('UnsupportedMediaType'),
            '422': problem('UnprocessableContent'),
            '503': problem('ServiceUnavailable'),
          },
        },
        get: {
          tags: ['revocations'],
          operationId: 'listRevocations',
          summary: 'List rules, latest change first (needs `read`)',
          parameters: queryParameters(ListRulesQuerySchema),
          responses: {
            '200': { description: 'One page.', content: json(ref('RulePage')) },
            '400': problem('BadRequest'),
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '503': problem('ServiceUnavailable'),
          },
        },
      },
      '/v1/revocations/{id}': {
        get: {
          tags: ['revocations'],
          operationId: 'getRevocation',
          summary: 'One rule (needs `read`)',
          parameters: [ruleId],
          responses: {
            '200': { description: 'The rule as stored now.', content: json(ref('Rule')) },
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '404': problem('NotFound'),
            '503': problem('ServiceUnavailable'),
          },
        },
      },
      '/v1/revocations/{id}/reinstate': {
        post: {
          tags: ['revocations'],
          operationId: 'reinstateRevocation',
          summary: 'Remove a rule, or lower its revokedBefore (needs `reinstate`: admin)',
          description:
            'The only way a rule revokes less: a new version (higher seq), audited and ' +
            'published. Send an `Idempotency-Key` to retry safely: without one, a retry after a ' +
            'lost answer finds the rule removed (409), or lowers again a rule raised meanwhile.',
          parameters: [
            ruleId,
            idempotencyKeyHeader(
              'Retries with the same key (same caller, rule, reason and revokedBefore) get the ' +
                'first answer, whatever happened to the rule since, and write nothing; the same ' +
                'key with another request is 409. Keys are per endpoint: one used for a create ' +
                'is unrelated.',
            ),
          ],
          requestBody: { required: true, content: json(ref('ReinstateRequest')) },
          responses: {
            '200': {
              description:
                'The new version of the rule; for a retry with the same Idempotency-Key, the ' +
                'version the first request wrote.',
              content: json(ref('Rule')),
            },
            '400': problem('BadRequest'),
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '404': problem('NotFound'),
            '409': problem('Conflict'),
            '415': problem('UnsupportedMediaType'),
            '422': problem('UnprocessableContent'),
            '503': problem('ServiceUnavailable'),
          },
        },
      },
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
            '400': problem('BadRequest'),
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '503': problem('ServiceUnavailable'),
          },
        },
      },
      '/v1/events/hr': eventPath('hr', 'HrEventV1', 'An HR event (offboarding)'),
      '/v1/events/idp': eventPath('idp', 'IdpEventV1', 'An identity-provider event'),
      '/v1/events/siem': eventPath('siem', 'SiemEventV1', 'A SIEM / SOAR event'),
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
          },
        },
      },
      '/oauth/revoke': {
        post: {
          tags: ['oauth'],
          operationId: 'revokeToken',
          summary: 'RFC 7009 token revocation by a registered OAuth client',
          security: [{ clientSecretBasic: [] }],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['token'],
                  properties: {
                    token: { type: 'string' },
                    token_type_hint: { type: 'string' },
                    client_id: { type: 'string', description: 'client_secret_post' },
                    client_secret: { type: 'string', description: 'client_secret_post' },
                  },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Revoked, or nothing to revoke (RFC 7009 §2.2). Empty body.' },
            '400': {
              description:
                'RFC 6749 §5.2 error: invalid_request, unauthorized_client, unsupported_token_type.',
              content: json(OAUTH_ERROR),
            },
            '401': { description: 'invalid_client.', content: json(OAUTH_ERROR) },
            '503': {
              description: 'temporarily_unavailable; retry after Retry-After.',
              content: json(OAUTH_ERROR),
            },
          },
        },
      },
      '/oauth/introspect': {
        post: {
          tags: ['oauth'],
          operationId: 'introspectToken',
          summary: 'RFC 7662 token introspection (needs `introspect`)',
          security: [{ bearerAuth: [] }],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['token'],
                  properties: { token: { type: 'string' }, token_type_hint: { type: 'string' } },
                },
              },
            },
          },
          responses: {
            '200': {
              description: '{"active": true, ...claims} or only {"active": false}.',
              content: json({
                type: 'object',
                required: ['active'],
                properties: { active: { type: 'boolean' } },
              }),
            },
            '401': { description: 'invalid_token.', content: json(OAUTH_ERROR) },
            '403': { description: 'insufficient_scope.', content: json(OAUTH_ERROR) },
          },
        },
      },
      '/global-token-revocation': {
        post: {
          tags: ['oauth'],
          operationId: 'globalTokenRevocation',
          summary:
            'draft-parecki-oauth-global-token-revocation: revoke everything of a subject ' +
            '(needs `global-revoke`)',
          security: [{ bearerAuth: [] }],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['sub_id'],
              properties: {
                sub_id: {
                  type: 'object',
                  description: 'RFC 9493 subject identifier: iss_sub, opaque or email.',
                },
              },
            }),
          },
          responses: {
            '204': { description: 'Revoked.' },
            '400': problem('BadRequest'),
            '401': problem('Unauthorized'),
            '403': problem('Forbidden'),
            '503': problem('ServiceUnavailable'),
          },
        },
      },
      '/ssf/events': {
        post: {
          tags: ['ingest'],
          operationId: 'ssfPush',
          summary:
            'OpenID Shared Signals push (RFC 8935): a CAEP/RISC Security Event Token signed by a ' +
            'configured transmitter',
          security: [],
          requestBody: {
            required: true,
            content: { 'application/secevent+jwt': { schema: { type: 'string' } } },
          },
          responses: {
            '202': { description: 'Verified and committed.' },
            '400': {
              description: 'RFC 8935 §2.3 error.',
              content: json({
                type: 'object',
                required: ['err', 'description'],
                properties: {
                  err: {
                    enum: [
                      'invalid_request',
                      'invalid_key',
                      'invalid_issuer',
                      'invalid_audience',
                      'authentication_failed',
                      'access_denied',
                    ],
                  },
                  description: { type: 'string' },
                },
              }),
            },
            '503': problem('ServiceUnavailable'),
          },
        },
      },
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
      '/openapi.json': {
        get: {
          tags: ['health'],
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API credential (`rsk_…`, role-based) or, for ingest only, the shared ingest token.',
        },
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description:
            'A registered OAuth client (client_secret_basic; client_secret_post also works).',
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            'Standard Webhooks signature over webhook-id, webhook-timestamp and the body, for ' +
            'sources with a configured secret; the webhook-id is then the idempotency key.',
        },
      },
      schemas: { ...requests, ...responses },
      responses: Object.fromEntries(
        Object.entries(PROBLEMS).map(([name, description]) => [
          name,
          { description, content: { 'application/problem+json': { schema: ref('Problem') } } },
        ]),
      ),
    },
  };
}
