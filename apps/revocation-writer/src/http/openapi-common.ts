import { z } from 'zod';
import { ProblemSchema } from '../revocations/dto/common.dto';

/**
 * What the fragments of the OpenAPI document share: the fragment shape, the helpers that build
 * operations, and the pieces every capability refers to (problem+json responses, the RFC 6749
 * error of the OAuth endpoints, security schemes, `Retry-After`). The merger is
 * openapi-document.ts; each capability documents its own routes in `<capability>/openapi.ts`.
 */

export type JsonObject = Record<string, unknown>;

export interface OpenApiOptions {
  /** Claims rules may match in this deployment (standard and custom). */
  allowedClaims: readonly string[];
  /** Claims that need `confirm: true` and a role allowed broad scopes. */
  broadClaims: readonly string[];
  bulkConfirmThreshold: number;
}

/** The generated JSON Schema of one zod schema, as zod's `toJSONSchema` override sees it. */
export interface GeneratedSchema {
  zodSchema: unknown;
  jsonSchema: JsonObject;
}

/** One capability's part of the document; openapi-document.ts merges them in a fixed order. */
export interface OpenApiFragment {
  /** Names the fragment in the merger's errors. */
  readonly name: string;
  /** Tags this fragment declares, in document order. */
  readonly tags?: readonly JsonObject[];
  /** Path items in document order, built for this deployment (claims, thresholds). */
  paths?(options: OpenApiOptions): Record<string, JsonObject>;
  /** zod schemas published in `components.schemas` as requests accept them (`io: 'input'`). */
  readonly requestSchemas?: Readonly<Record<string, z.ZodType>>;
  /** zod schemas published in `components.schemas` as responses are shaped (`io: 'output'`). */
  readonly responseSchemas?: Readonly<Record<string, z.ZodType>>;
  /** Adapts the JSON Schema generated for a request schema to this deployment. */
  adjustRequestSchema?(generated: GeneratedSchema, options: OpenApiOptions): void;
  readonly components?: {
    readonly securitySchemes?: Readonly<Record<string, JsonObject>>;
    readonly responses?: Readonly<Record<string, JsonObject>>;
    readonly headers?: Readonly<Record<string, JsonObject>>;
  };
}

export const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonObject): JsonObject => ({ 'application/json': { schema } });

/** Query parameters from a zod object schema: one parameter per property. */
export function queryParameters(schema: z.ZodObject): JsonObject[] {
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
const PROBLEMS = {
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
} as const;
export type ProblemName = keyof typeof PROBLEMS;

/** A reference to one of the shared problem+json responses. */
export const problem = (name: ProblemName): JsonObject => ({
  $ref: `#/components/responses/${name}`,
});

/** The status each shared problem response answers with. */
const PROBLEM_STATUS: Record<ProblemName, string> = {
  BadRequest: '400',
  Unauthorized: '401',
  Forbidden: '403',
  NotFound: '404',
  RequestTimeout: '408',
  Conflict: '409',
  ContentTooLarge: '413',
  UriTooLong: '414',
  UnsupportedMediaType: '415',
  UnprocessableContent: '422',
  TooManyRequests: '429',
  HeaderTooLarge: '431',
  ServiceUnavailable: '503',
};

/** Several shared problem responses, keyed by their status (spread into `responses`). */
export const problems = (...names: ProblemName[]): Record<string, JsonObject> =>
  Object.fromEntries(names.map((name) => [PROBLEM_STATUS[name], problem(name)]));

/** What every authenticated JSON write endpoint (events, operator creates) may refuse with. */
export const JSON_WRITE_PROBLEMS = problems(
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'Conflict',
  'ContentTooLarge',
  'UnsupportedMediaType',
  'UnprocessableContent',
  'ServiceUnavailable',
);

export const RETRY_AFTER = { 'Retry-After': { $ref: '#/components/headers/Retry-After' } };

/** Response headers of the shared problem responses that have any. */
const PROBLEM_HEADERS: Partial<Record<ProblemName, JsonObject>> = {
  TooManyRequests: RETRY_AFTER,
  ServiceUnavailable: RETRY_AFTER,
};

/** RFC 6749 §5.2 error body of the OAuth endpoints. */
export const OAUTH_ERROR: JsonObject = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};
export const oauthError = (description: string, headers?: JsonObject): JsonObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: json(OAUTH_ERROR),
});

/**
 * The components every capability refers to. Last in the merge order, so that `Problem` comes
 * after the capabilities' response schemas.
 */
export const COMMON_OPENAPI: OpenApiFragment = {
  name: 'common',
  responseSchemas: { Problem: ProblemSchema },
  components: {
    // All schemes in one place: several capabilities accept the same credential.
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
    responses: Object.fromEntries(
      Object.entries(PROBLEMS).map(([name, description]) => {
        const headers = PROBLEM_HEADERS[name as ProblemName];
        return [
          name,
          {
            description,
            ...(headers ? { headers } : {}),
            content: { 'application/problem+json': { schema: ref('Problem') } },
          },
        ];
      }),
    ),
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
        schema: { type: 'integer', minimum: 1 },
      },
    },
  },
};
