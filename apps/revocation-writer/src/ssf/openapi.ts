import { json, type OpenApiFragment, problem } from '../http/openapi-common';

/** `POST /ssf/events` (ssf.controller.ts): its errors are RFC 8935's, not problem+json. */
export const SSF_OPENAPI: OpenApiFragment = {
  name: 'ssf',
  paths: () => ({
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
  }),
};
