import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InjectConfig, type WriterConfig } from '../config/config';
import type { RescindErrorCode } from '../errors';
import { classifyFailure } from '../failure';
import { httpStatus } from '../http/problem-details';
import { OAuthError, type OAuthErrorCode } from './oauth-error';

const BEARER_REALM = 'Bearer realm="rescind"';

/**
 * The RFC 6749 §5.2 (RFC 7009 §2.2.1, RFC 6750 §3.1) code each domain error is answered with;
 * the status is HTTP's (`httpStatus`). A new code does not compile until it has one here.
 */
const OAUTH_ERROR: Record<RescindErrorCode, OAuthErrorCode> = {
  invalid_event: 'invalid_request',
  malformed_json: 'invalid_request',
  unsupported_schema_version: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  invalid_query: 'invalid_request',
  invalid_header: 'invalid_request',
  invalid_request: 'invalid_request',
  unsupported_subject_format: 'invalid_request',
  unsupported_subject: 'invalid_request',
  unknown_employee: 'invalid_request',
  malformed_webhook: 'invalid_request',
  invalid_webhook_signature: 'invalid_request',
  webhook_replay: 'invalid_request',
  idempotency_conflict: 'invalid_request',
  bulk_size: 'invalid_request',
  // The API-credential guard of introspection: RFC 6750 §3.1 codes, with their challenges.
  unauthenticated: 'invalid_token',
  forbidden: 'insufficient_scope',
  confirmation_required: 'invalid_request',
  not_found: 'invalid_request',
  rule_not_active: 'invalid_request',
  unpublishable_rule: 'invalid_request',
  unstorable_input: 'invalid_request',
  storage_conflict: 'invalid_request',
  // RFC 7009 §2.2.1: 503 tells the client to retry later; nothing was stored.
  storage_unavailable: 'temporarily_unavailable',
  internal_error: 'server_error',
};

const serverError = (): OAuthError =>
  new OAuthError('server_error', 'internal error; the request may not have been processed', 500);

/** Any error thrown on the way, as the OAuth error it means to an OAuth client. */
function toOAuthError(thrown: unknown): OAuthError {
  if (thrown instanceof OAuthError) {
    return thrown;
  }
  const { error } = classifyFailure(thrown);
  if (error !== null) {
    const code = OAUTH_ERROR[error.code];
    if (code === 'temporarily_unavailable') {
      return new OAuthError(code, 'the revocation store is unavailable; retry later', 503);
    }
    if (code === 'server_error') {
      return serverError();
    }
    const challenge: Record<string, string> =
      code === 'invalid_token' || code === 'insufficient_scope'
        ? { 'www-authenticate': `${BEARER_REALM}, error="${code}"` }
        : {};
    return new OAuthError(code, error.message, httpStatus(error.code), challenge);
  }
  const status =
    thrown instanceof HttpException
      ? thrown.getStatus()
      : (thrown as { statusCode?: unknown }).statusCode; // Fastify's body-parser errors
  if (status === 429) {
    // The rate limiter (it set Retry-After already): retrying later is what the client should do.
    return new OAuthError('temporarily_unavailable', (thrown as Error).message, 429);
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OAuthError('invalid_request', (thrown as Error).message, status);
  }
  return serverError();
}

/**
 * Errors of the OAuth endpoints leave in the RFC 6749 §5.2 shape, never cached (§5.1). Error
 * descriptions never contain the token: only fixed texts and our own messages go out.
 */
@Catch()
@Injectable()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth');

  constructor(@InjectConfig('http') private readonly http: WriterConfig['http']) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const oauth = toOAuthError(error);
    const headers: Record<string, string> = { ...oauth.headers, 'cache-control': 'no-store' };
    if (oauth.status === 503) {
      headers['retry-after'] = String(this.http.retryAfterSeconds);
    }
    if (oauth.status >= 500) {
      const log = oauth.status === 503 ? 'warn' : 'error';
      this.logger[log](`${request.method} ${request.url}: ${oauth.error}: ${String(error)}`);
    }
    void http
      .getResponse<FastifyReply>()
      .status(oauth.status)
      .headers(headers)
      .header('content-type', 'application/json')
      .send({ error: oauth.error, error_description: oauth.message });
  }
}
