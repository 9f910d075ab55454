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
 * An answer of the OAuth endpoints, `{"error", "error_description"}` (RFC 6749 §5.2), not
 * problem+json: OAuth client libraries parse this shape. A transport error, not a domain one:
 * the RFCs fix its code and status together, so it carries both; `headers` go out with it
 * (`WWW-Authenticate`, `Allow`). Domain errors reach OAuth clients through OAuthExceptionFilter.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = new.target.name;
  }
}

/** RFC 6749 §5.2: a failed client authentication is 401 with a challenge for the scheme. */
export const invalidClient = (description: string): OAuthError =>
  new OAuthError('invalid_client', description, 401, {
    'www-authenticate': 'Basic realm="rescind", charset="UTF-8"',
  });
