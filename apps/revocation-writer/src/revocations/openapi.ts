import {
  json,
  type JsonObject,
  type OpenApiFragment,
  JSON_WRITE_PROBLEMS,
  problems,
  queryParameters,
  ref,
} from '../http/openapi-common';
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

/** The `Idempotency-Key` request header of the operator API's writes. */
const idempotencyKeyHeader = (description: string): JsonObject => ({
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description,
  schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' },
});

const RULE_ID: JsonObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Rule id (a malformed id is an unknown one: 404).',
  schema: { type: 'string' },
};

const claimSchema = RuleRequestSchema.shape.claim;

/** The operator API (revocations.controller.ts): create, list, get and reinstate rules. */
export const REVOCATIONS_OPENAPI: OpenApiFragment = {
  name: 'revocations',
  tags: [{ name: 'revocations', description: 'Operator API for revocation rules' }],
  requestSchemas: {
    CreateRevocationRequest: CreateRevocationSchema,
    ReinstateRequest: ReinstateSchema,
  },
  responseSchemas: {
    Rule: RuleResourceSchema,
    CreatedRevocation: CreatedRevocationSchema,
    DryRun: DryRunSchema,
    RulePage: RulePageSchema,
  },
  // The claims a rule may match are this deployment's (CUSTOM_RULE_CLAIMS).
  adjustRequestSchema: ({ zodSchema, jsonSchema }, options) => {
    if (zodSchema === claimSchema) {
      jsonSchema.enum = [...options.allowedClaims];
    }
  },
  paths: (options) => ({
    '/v1/revocations': {
      post: {
        tags: ['revocations'],
        operationId: 'createRevocation',
        summary:
          'Revoke: create or raise rules, or dry-run (needs `revoke`: operator, admin; ' +
          '`revokedBefore: null` beyond one token lifetime or a rule without end needs ' +
          '`revoke:permanent`: admin)',
        description:
          `Each rule's claim must be one the caller's role may revoke. Broad claims ` +
          `(${options.broadClaims.join(', ')}) need \`confirm: true\` and the admin role; more ` +
          `than ${options.bulkConfirmThreshold} rules need \`confirm: true\` and the admin ` +
          'role. An existing active rule is raised, never lowered. `dryRun: true` authorizes ' +
          'the same way and writes nothing.',
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
          ...JSON_WRITE_PROBLEMS,
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
          ...problems('BadRequest', 'Unauthorized', 'Forbidden', 'ServiceUnavailable'),
        },
      },
    },
    '/v1/revocations/{id}': {
      get: {
        tags: ['revocations'],
        operationId: 'getRevocation',
        summary: 'One rule (needs `read`)',
        parameters: [RULE_ID],
        responses: {
          '200': { description: 'The rule as stored now.', content: json(ref('Rule')) },
          ...problems('Unauthorized', 'Forbidden', 'NotFound', 'ServiceUnavailable'),
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
          RULE_ID,
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
          ...problems(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'Conflict',
            'UnsupportedMediaType',
            'UnprocessableContent',
            'ServiceUnavailable',
          ),
        },
      },
    },
  }),
};
