import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseBugError, InvalidEventError, type RescindErrorCode } from '../errors';
import { classifyFailure } from '../failure';
import { loggedUrl } from './request-log';

/** RFC 9457 problem details, plus our stable `code` and `retriable` flag. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  retriable: boolean;
  errors?: Array<{ pointer: string; detail: string }>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The status each error code is answered with: the domain errors name what went wrong, this
 * transport decides how HTTP says it. A new code does not compile until it has a status here.
 */
const HTTP_STATUS: Record<RescindErrorCode, number> = {
  invalid_event: 422,
  malformed_json: 400,
  unsupported_schema_version: 422,
  unsupported_media_type: 415,
  // 400, not 422: the problem is the request line or its headers, not a body it understood.
  invalid_query: 400,
  invalid_header: 400,
  // draft-parecki-oauth-global-token-revocation §3.4.2: a malformed or unsupported request.
  invalid_request: 400,
  unsupported_subject_format: 400,
  unsupported_subject: 400,
  unknown_employee: 422,
  malformed_webhook: 400,
  invalid_webhook_signature: 401,
  webhook_replay: 409,
  idempotency_conflict: 409,
  bulk_size: 413,
  unauthenticated: 401,
  forbidden: 403,
  confirmation_required: 422,
  not_found: 404,
  rule_not_active: 409,
  unpublishable_rule: 422,
  unstorable_input: 422,
  storage_conflict: 409,
  storage_unavailable: 503,
  internal_error: 500,
};

/** The HTTP status a RescindError of this code is answered with. */
export function httpStatus(code: RescindErrorCode): number {
  return HTTP_STATUS[code];
}

/** Fastify's own request errors (raised before a handler runs) and what we call them. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

export function toProblem(thrown: unknown, instance?: string): ProblemDetails {
  // Wherever a query ran (guard, repository, use case), what the database said decides: a lost
  // database is "retry later" (503), a value it cannot hold 422, a constraint 409, anything else
  // a 500 that retrying does not fix. No database error is a retriable 500.
  const { error } = classifyFailure(thrown);
  if (error !== null) {
    const status = HTTP_STATUS[error.code];
    return {
      type: `urn:rescind:problem:${error.code}`,
      title: TITLES[status] ?? 'Error',
      status,
      // The database's own words about a bug are for the log, never for the client.
      detail: error instanceof DatabaseBugError ? DatabaseBugError.publicDetail : error.message,
      instance,
      code: error.code,
      retriable: error.retriable,
      ...(error instanceof InvalidEventError ? { errors: error.errors } : {}),
    };
  }
  if (thrown instanceof HttpException) {
    const status = thrown.getStatus();
    const code = (TITLES[status] ?? 'error').toLowerCase().replace(/ /g, '_');
    return {
      type: `urn:rescind:problem:${code}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail: thrown.message,
      instance,
      code,
      retriable: status === 429 || status >= 500,
    };
  }
  const fastifyError = thrown as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code =
      (typeof fastifyError.code === 'string' && FASTIFY_CODES[fastifyError.code]) ||
      (thrown instanceof SyntaxError ? 'malformed_json' : 'bad_request');
    return {
      type: `urn:rescind:problem:${code}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail: String(fastifyError.message),
      instance,
      code,
      retriable: false,
    };
  }
  // A bug (classifyFailure): never retried by our own transports. The client is still told it
  // may retry, as it always was: it cannot know whether the failure depended on its request.
  return {
    type: 'urn:rescind:problem:internal_error',
    title: 'Internal Server Error',
    status: 500,
    detail: 'internal error; the request may not have been processed',
    instance,
    code: 'internal_error',
    retriable: true,
  };
}

/** Sends `problem` as application/problem+json, with Retry-After on 503. */
export function sendProblem(
  reply: FastifyReply,
  problem: ProblemDetails,
  retryAfterSeconds: number,
): void {
  if (problem.status === 503) {
    void reply.header('retry-after', String(retryAfterSeconds));
  }
  if (problem.status === 401) {
    void reply.header('www-authenticate', 'Bearer realm="rescind"');
  }
  void reply
    .status(problem.status)
    .header('content-type', 'application/problem+json')
    .send(problem);
}

/** Every error leaves as RFC 9457 problem+json; unexpected ones are logged, never echoed. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly retryAfterSeconds: number) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const problem = toProblem(error, request.url);
    // The query string may carry a token (RFC 6750 §2.3): the log names the path only.
    const where = `${request.method} ${loggedUrl(request.url)}`;
    if (request.raw.socket?.destroyed === true) {
      // The client went away (or was cut off, e.g. after a 408): its aborted body read is not an
      // outage of the store, and there is nobody left to answer.
      this.logger.log(`${where}: the client closed the connection before the answer`);
      return;
    }
    if (problem.status === 503) {
      this.logger.warn(`${where}: ${problem.code}: ${String(error)}`);
    } else if (problem.status >= 500) {
      this.logger.error(`${where}: ${problem.code}: ${String(error)}`);
    }
    const reply = http.getResponse<FastifyReply>();
    if (request.url.startsWith('/ssf/') && problem.status < 500 && problem.status !== 429) {
      // RFC 8935 §2.3: a push receiver answers errors in its own JSON shape, even for requests
      // rejected before they reach the controller (wrong media type, unparsable body). Not a
      // 429: a transmitter does not retry a 400, so a rate-limited SET would be lost; it gets
      // problem+json with Retry-After and is sent again.
      void reply
        .status(400)
        .header('content-type', 'application/json')
        .send({ err: 'invalid_request', description: problem.detail });
      return;
    }
    if (request.url.startsWith('/oauth/') && problem.status < 500) {
      // RFC 6749 §5.2 error shape for OAuth endpoints, also for what Fastify refused before the
      // OAuth controllers' own filter could run (body too large, unparsable body).
      void reply
        .status(problem.status)
        .header('content-type', 'application/json')
        .header('cache-control', 'no-store')
        .send({ error: 'invalid_request', error_description: problem.detail });
      return;
    }
    sendProblem(reply, problem, this.retryAfterSeconds);
  }
}
