import { type EventSourceName, SOURCE_EVENT_SCHEMAS } from '@rescind/contracts';
import { z } from 'zod';
import { AuditEntrySchema, AuditPageSchema, AuditQuerySchema } from '../audit/audit.dto';
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

/** Every error answer is RFC 9457 problem+json (the OAuth and SSF endpoints' own errors aside). */
const PROBLEMS: Record<string, string> = {
  BadRequest:
    'Malformed JSON, or a query parameter or header that does not fit its schema; or, answered ' +
    'before any routing, a request that is not valid HTTP/1.1 (an invalid, repeated or ' +
    'conflicting Content-Length, Content-Length with Transfer-Encoding, no Host) or a URL that ' +
    'does not percent-decode (code `malformed_request`).',
  Unauthorized: 'Missing, unknown or disabled credential.',
  Forbidden:
    "The credential's role does not allow this (scope, bulk size or permission); the detail " +
    'names the missing permission (e.g. `revoke`, `revoke:permanent`) and the rule.',
  NotFound:
    'No such rule (unknown or malformed id, or, for a credential bound to one issuer, a rule of ' +
    'another issuer or an issuer-independent one: existence is not revealed).',
  Conflict:
    'Idempotency-Key or event id reused for another request (`idempotency_conflict`), a ' +
    '`webhook-id` reused for another event (`webhook_replay`), the rule is no longer active, or ' +
    'a database constraint refused the change (`storage_conflict`); never retriable.',
  RequestTimeout:
    'The request, headers and body, was not received within HTTP_REQUEST_TIMEOUT_MS (headers ' +
    'within HTTP_HEADERS_TIMEOUT_MS), e.g. a body shorter than its Content-Length; the ' +
    'connection is closed (code `request_timeout`, retriable).',
  ContentTooLarge: 'The body exceeds HTTP_BODY_LIMIT_BYTES; refused before parsing.',
  UriTooLong: 'A path parameter exceeds 100 characters (code `uri_too_long`).',
  UnsupportedMediaType: 'The body is not JSON.',
  UnprocessableContent:
    'The body violates the schema (text with U+0000 or a lone surrogate, a value or issuer whose ' +
    'rule key would exceed MAX_RULE_KEY_LENGTH: `invalid_event`), a value PostgreSQL refused ' +
    '(`unstorable_input`), or a broad or bulk revocation lacks `confirm: true` ' +
    '(code `confirmation_required`). `errors` names each offending member.',
  TooManyRequests:
    'Rate limited: more than RATE_LIMIT_PER_IP_PER_MINUTE requests from this address, or ' +
    'RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE with this credential, to this operation in a minute. ' +
    'Retry after Retry-After.',
  HeaderTooLarge:
    'The request line and headers exceed 16 KiB; the connection is closed (code ' +
    '`header_too_large`).',
  ServiceUnavailable: 'PostgreSQL is unreachable: nothing was stored. Retry after Retry-After.',
};
const problem = (name: keyof typeof PROBLEMS): JsonObject => ({
  $ref: `#/components/responses/${name}`,
});
/** Response headers of the shared problem responses that have any. */
const PROBLEM_HEADERS: Partial<Record<keyof typeof PROBLEMS, JsonObject>> = {
  TooManyRequests: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
  ServiceUnavailable: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
};

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
const oauthError = (description: string, headers?: JsonObject): JsonObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: json(OAUTH_ERROR),
});
const RETRY_AFTER = { 'Retry-After': { $ref: '#/components/headers/Retry-After' } };

/**
 * The endpoints that accept POST only (RFC 7009 §2.1, RFC 7662 §2.1): their other methods are
 * routes of their own that answer 405 with `Allow: POST` (method-not-allowed.controller.ts).
 */
function postOnlyMethods(summary: string): JsonObject {
  const operation = (method: string) => ({
    tags: ['oauth'],
    operationId: `${summary}${method}NotAllowed`,
    summary: `Not allowed: ${summary} accepts POST only (a token never travels in a URL)`,
    security: [],
    responses: {
      '405': oauthError('invalid_request: this endpoint accepts POST only.', {
        Allow: { schema: { const: 'POST' } },
      }),
    },
  });
  return {
    get: operation('Get'),
    put: operation('Put'),
    patch: operation('Patch'),
    delete: operation('Delete'),
  };
}

/** One operation of the document, as the shared-response table sees it. */
export interface OperationContext {
  path: string;
  method: string;
  operation: JsonObject & { responses: Record<string, JsonObject>; security?: unknown[] };
}

/**
 * Routes that are never rate limited: `@SkipThrottle(ALL_THROTTLERS)` on the health controller
 * and the metrics controller. The OpenAPI test checks this list against the running app.
 */
export const UNTHROTTLED_PATHS: ReadonlySet<string> = new Set([
  '/health/live',
  '/health/ready',
  '/health',
  '/metrics',
]);

/** OAuth endpoints answer their errors in the RFC 6749 §5.2 shape (OAuthExceptionFilter). */
const isOAuth = ({ path }: OperationContext) => path.startsWith('/oauth/');
/** 405-only operations: routed, but answered before anything else runs. */
const isMethodNotAllowed = ({ operation }: OperationContext) => '405' in operation.responses;
/** An API credential or OAuth client is looked up in PostgreSQL for every request. */
const isAuthenticated = ({ operation }: OperationContext) =>
  (operation.security ?? [{ bearerAuth: [] }]).some(
    (requirement) => Object.keys(requirement as JsonObject).length > 0,
  );

/**
 * Answers that whole groups of operations give, added to each operation of the group that does
 * not describe the status itself: what Node refuses before routing (every operation), the rate
 * limiter (every throttled route), an unreachable PostgreSQL (every authenticated operation).
 * A new cross-cutting answer (a status every operation of some kind gives) is one more entry here,
 * not an edit of every operation.
 */
export const SHARED_RESPONSES: ReadonlyArray<{
  status: string;
  appliesTo: (op: OperationContext) => boolean;
  response: (op: OperationContext) => JsonObject;
}> = [
  // Answered by Node before any route or filter: problem+json whatever the endpoint.
  { status: '400', appliesTo: () => true, response: () => problem('BadRequest') },
  { status: '408', appliesTo: () => true, response: () => problem('RequestTimeout') },
  { status: '431', appliesTo: () => true, response: () => problem('HeaderTooLarge') },
  // The body limit, before parsing; RFC 8935 §2.3 makes it a 400 at /ssf/events (declared there).
  {
    status: '413',
    appliesTo: (op) => op.operation.requestBody !== undefined && !op.path.startsWith('/ssf/'),
    response: (op) =>
      isOAuth(op)
        ? oauthError('invalid_request: the body exceeds HTTP_BODY_LIMIT_BYTES.')
        : problem('ContentTooLarge'),
  },
  // Fastify refuses an overlong path parameter before routing (maxParamLength).
  {
    status: '414',
    appliesTo: ({ path }) => path.includes('{'),
    response: () => problem('UriTooLong'),
  },
  {
    status: '429',
    appliesTo: (op) => !UNTHROTTLED_PATHS.has(op.path),
    response: (op) =>
      isOAuth(op)
        ? oauthError('temporarily_unavailable: rate limited; retry after Retry-After.', RETRY_AFTER)
        : problem('TooManyRequests'),
  },
  {
    status: '503',
    appliesTo: (op) => isAuthenticated(op) && !isMethodNotAllowed(op),
    response: (op) =>
      isOAuth(op)
        ? oauthError('temporarily_unavailable; retry after Retry-After.', RETRY_AFTER)
        : problem('ServiceUnavailable'),
  },
];

/** Node's answers before routing are problem+json even where the endpoint's own errors are not. */
const TRANSPORT_STATUSES = new Set(['400', '408', '431']);

/** `paths` with the shared responses added to every operation they apply to. */
function withSharedResponses(paths: Record<string, JsonObject>): JsonObject {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, JsonObject>)) {
      const op = { path, method, operation } as OperationContext;
      const responses = op.operation.responses;
      for (const shared of SHARED_RESPONSES) {
        if (!shared.appliesTo(op)) {
          continue;
        }
        const own = responses[shared.status];
        if (own === undefined) {
          responses[shared.status] = shared.response(op);
        } else if (
          TRANSPORT_STATUSES.has(shared.status) &&
          own.content !== undefined &&
          !('application/problem+json' in (own.content as JsonObject))
        ) {
          // An endpoint's own 400 shape (RFC 6749 §5.2, RFC 8935 §2.3), or Node's problem+json.
          responses[shared.status] = {
            ...own,
            description: `${String(own.description)} A request that is not valid HTTP/1.1 gets problem+json instead.`,
            content: {
              ...(own.content as JsonObject),
              'application/problem+json': { schema: ref('Problem') },
            },
          };
        }
      }
    }
  }
  return paths;
}

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
    paths: withSharedResponses({
      '/v1/revocations': {
        post: {
          tags: ['revocations'],
          operationId: 'createRevocation',
          summary:
            'Revoke: create or raise rules, or dry-run (needs `revoke`: operator, admin; ' +
            '`revokedBefore: null` beyond one token lifetime or a rule without end needs ' +
            '`revoke:permanent`: admin)',
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
          summary:
            'List rules, latest change first (needs `read`; a credential bound to one issuer ' +
            "sees that issuer's rules only)",
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
            '503': problem('ServiceUnavailable'),
          },
        },
      },
      '/oauth/revoke': {
        ...postOnlyMethods('revokeToken'),
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
            '401': oauthError('invalid_client.'),
            '503': oauthError('temporarily_unavailable; retry after Retry-After.', RETRY_AFTER),
          },
        },
      },
      '/oauth/introspect': {
        ...postOnlyMethods('introspectToken'),
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
              description:
                'Only {"active": false} for a token that is not active (whatever the reason, and ' +
                'for every opaque token); for an active JWT, the RFC 7662 §2.2 members it has, ' +
                'then every other claim of its payload (`sid`, `cnf`, custom claims): nothing the ' +
                'caller could not decode from the token it sent.',
              content: json({
                type: 'object',
                required: ['active'],
                properties: {
                  active: { type: 'boolean' },
                  scope: { type: 'string' },
                  client_id: { type: 'string' },
                  username: { type: 'string' },
                  token_type: { enum: ['Bearer', 'DPoP'] },
                  exp: { type: 'number' },
                  iat: { type: 'number' },
                  nbf: { type: 'number' },
                  sub: { type: 'string' },
                  aud: {
                    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
                  },
                  iss: { type: 'string' },
                  jti: { type: 'string' },
                  sid: { type: 'string' },
                  auth_time: { type: 'number' },
                  acr: { type: 'string' },
                  amr: { type: 'array', items: { type: 'string' } },
                },
                additionalProperties: true,
              }),
            },
            '400': oauthError('invalid_request: no token.'),
            '401': oauthError('invalid_token.'),
            '403': oauthError('insufficient_scope.'),
            '503': oauthError(
              "temporarily_unavailable: PostgreSQL or the token issuer's keys cannot be " +
                'reached; retry after Retry-After.',
              RETRY_AFTER,
            ),
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
    }),
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
          {
            description,
            ...(PROBLEM_HEADERS[name] ? { headers: PROBLEM_HEADERS[name] } : {}),
            content: { 'application/problem+json': { schema: ref('Problem') } },
          },
        ]),
      ),
      headers: {
        'Retry-After': {
          description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
          schema: { type: 'integer', minimum: 1 },
        },
      },
    },
  };
}
