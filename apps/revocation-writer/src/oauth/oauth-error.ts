import { RescindError } from '../errors';

/** Error codes of RFC 6749 §5.2, RFC 7009 §2.2.1 and RFC 6750 §3.1 that these endpoints use. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * An error the OAuth endpoints answer as `{"error", "error_description"}` (RFC 6749 §5.2), not
 * as problem+json: OAuth client libraries parse this shape. `headers` go out with the answer
 * (`WWW-Authenticate`, `Allow`).
 */
export class OAuthError extends RescindError {
  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(error, description, status, false);
  }
}

/** RFC 6749 §5.2: a failed client authentication is 401 with a challenge for the scheme. */
export const invalidClient = (description: string): OAuthError =>
  new OAuthError('invalid_client', description, 401, {
    'www-authenticate': 'Basic realm="rescind", charset="UTF-8"',
  });
