import {
  json,
  type JsonObject,
  OAUTH_ERROR,
  oauthError,
  type OpenApiFragment,
  problems,
  RETRY_AFTER,
} from '../http/openapi-common';

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

/** RFC 7662 §2.2 introspection answer: the members an active JWT has, then its other claims. */
const INTROSPECTION_RESPONSE: JsonObject = {
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
};

/**
 * The OAuth endpoints (revocation, introspection and global-revocation controllers). RFC 7009 and
 * RFC 7662 answer their errors in the RFC 6749 §5.2 shape; global revocation in problem+json.
 */
/** The form of RFC 7009 and RFC 7662 requests: `token`, its hint, and any `extra` members. */
function tokenForm(extra: Record<string, JsonObject> = {}): JsonObject {
  return {
    required: true,
    content: {
      'application/x-www-form-urlencoded': {
        schema: {
          type: 'object',
          required: ['token'],
          properties: { token: { type: 'string' }, token_type_hint: { type: 'string' }, ...extra },
        },
      },
    },
  };
}

export const OAUTH_OPENAPI: OpenApiFragment = {
  name: 'oauth',
  paths: () => ({
    '/oauth/revoke': {
      ...postOnlyMethods('revokeToken'),
      post: {
        tags: ['oauth'],
        operationId: 'revokeToken',
        summary: 'RFC 7009 token revocation by a registered OAuth client',
        security: [{ clientSecretBasic: [] }],
        requestBody: tokenForm({
          client_id: { type: 'string', description: 'client_secret_post' },
          client_secret: { type: 'string', description: 'client_secret_post' },
        }),
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
        requestBody: tokenForm(),
        responses: {
          '200': {
            description:
              'Only {"active": false} for a token that is not active (whatever the reason, and ' +
              'for every opaque token); for an active JWT, the RFC 7662 §2.2 members it has, ' +
              'then every other claim of its payload (`sid`, `cnf`, custom claims): nothing the ' +
              'caller could not decode from the token it sent.',
            content: json(INTROSPECTION_RESPONSE),
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
          ...problems('BadRequest', 'Unauthorized', 'Forbidden', 'ServiceUnavailable'),
        },
      },
    },
  }),
};
