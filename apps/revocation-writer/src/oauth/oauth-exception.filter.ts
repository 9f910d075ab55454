import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import {
  ForbiddenError,
  isDatabaseUnavailable,
  RescindError,
  StorageUnavailableError,
  UnauthenticatedError,
} from '../errors';
import { OAuthError } from './oauth-error';

const BEARER_REALM = 'Bearer realm="rescind"';

/** Any error thrown on the way, as the OAuth error it means to an OAuth client. */
function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) {
    return error;
  }
  if (error instanceof StorageUnavailableError || isDatabaseUnavailable(error)) {
    // RFC 7009 §2.2.1: 503 tells the client to retry later; nothing was stored.
    return new OAuthError(
      'temporarily_unavailable',
      'the revocation store is unavailable; retry later',
      503,
    );
  }
  // The API-credential guard of introspection: RFC 6750 §3.1 codes and challenges.
  if (error instanceof UnauthenticatedError) {
    return new OAuthError('invalid_token', error.message, 401, {
      'www-authenticate': `${BEARER_REALM}, error="invalid_token"`,
    });
  }
  if (error instanceof ForbiddenError) {
    return new OAuthError('insufficient_scope', error.message, 403, {
      'www-authenticate': `${BEARER_REALM}, error="insufficient_scope"`,
    });
  }
  const status =
    error instanceof RescindError
      ? error.status
      : error instanceof HttpException
        ? error.getStatus()
        : (error as { statusCode?: unknown }).statusCode; // Fastify's body-parser errors
  if (status === 429) {
    // The rate limiter (it set Retry-After already): retrying later is what the client should do.
    return new OAuthError('temporarily_unavailable', (error as Error).message, 429);
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OAuthError('invalid_request', (error as Error).message, status);
  }
  return new OAuthError(
    'server_error',
    'internal error; the request may not have been processed',
    500,
  );
}

/**
 * Errors of the OAuth endpoints leave in the RFC 6749 §5.2 shape, never cached (§5.1). Error
 * descriptions never contain the token: only fixed texts and our own messages go out.
 */
@Catch()
@Injectable()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth');

  constructor(@Inject(WRITER_CONFIG) private readonly config: WriterConfig) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const oauth = toOAuthError(error);
    const headers: Record<string, string> = { ...oauth.headers, 'cache-control': 'no-store' };
    if (oauth.status === 503) {
      headers['retry-after'] = String(this.config.http.retryAfterSeconds);
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
