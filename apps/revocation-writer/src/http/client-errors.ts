import { Logger } from '@nestjs/common';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ProblemDetails, sendProblem } from './problem-details';

/**
 * Answers to requests that never reach a handler, so never the exception filters: what Node's
 * HTTP parser refuses (oversize headers, a lying `Content-Length`, a request not sent in time)
 * and what Fastify refuses before routing (a URL it cannot decode). Without this module they get
 * Node's or Fastify's own bodies, or no answer at all; with it, RFC 9457 problem+json like every
 * other error of the writer. Socket-level answers carry no `instance`: the request line may not
 * even have been read.
 */

const logger = new Logger('HTTP');

/** RFC 9110 §15 reason phrases of the statuses answered here. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const problem = (
  status: number,
  code: string,
  detail: string,
  retriable = false,
): ProblemDetails => ({
  type: `urn:rescind:problem:${code}`,
  title: TITLES[status] ?? 'Error',
  status,
  detail,
  code,
  retriable,
});

/** The error Node passes to `clientError`: llhttp's `HPE_*` codes carry a fixed `reason` text. */
export interface ClientError extends Error {
  code?: string;
  reason?: string;
}

/** Node's `clientError` codes that are not a plain 400, and what they mean to the client. */
const CLIENT_ERRORS: Readonly<Record<string, ProblemDetails>> = {
  // RFC 9110 §15.5.9: the client may send the request again, complete this time.
  ERR_HTTP_REQUEST_TIMEOUT: problem(
    408,
    'request_timeout',
    'the request (headers and body) was not received in time; the connection is closed',
    true,
  ),
  HPE_HEADER_OVERFLOW: problem(
    431,
    'header_too_large',
    'the request line and headers exceed the size this server accepts',
  ),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: problem(
    413,
    'body_too_large',
    'the chunk extensions exceed the size accepted',
  ),
};

/** What a `clientError` from Node's HTTP server (any other one is a 400) means to the client. */
export function clientErrorProblem(error: ClientError): ProblemDetails {
  const known = error.code === undefined ? undefined : CLIENT_ERRORS[error.code];
  if (known) {
    return known;
  }
  // llhttp's reasons are fixed texts ("Duplicate Content-Length", "Transfer-Encoding can't be
  // present with Content-Length"); nothing the client sent is echoed.
  const reason =
    error.code?.startsWith('HPE_') && typeof error.reason === 'string' ? `: ${error.reason}` : '';
  return problem(400, 'malformed_request', `the request is not valid HTTP/1.1${reason}`);
}

/** `problem` as a complete HTTP/1.1 response, for a socket no `ServerResponse` can write to. */
export function rawProblemResponse(p: ProblemDetails, now = new Date()): string {
  const body = JSON.stringify(p);
  return (
    `HTTP/1.1 ${p.status} ${p.title}\r\n` +
    `Date: ${now.toUTCString()}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n' +
    `\r\n${body}`
  );
}

/**
 * After the answer, how long the socket is kept to let the client read it and close first. An
 * immediate close with unread request bytes in the kernel's buffer sends a TCP reset, and a
 * reset can discard the answer on the client's side before it was read.
 */
const LINGER_MS = 2000;

/**
 * Fastify's `clientErrorHandler` (Node's `clientError` event): the problem+json answer, written
 * raw on the socket since no response object can be used, then the connection is closed.
 * Written only when the socket is writable and no response was started on it: an answer
 * already under way (a pipelined request's) cannot be followed by another one.
 */
export function answerClientError(error: ClientError, socket: Socket): void {
  // A reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  if (socket.writableEnded) {
    return; // answered already; the parser reports the same error for every later byte
  }
  logger.debug(`client error ${error.code ?? error.name}: ${error.message}`);
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const destroy = () => socket.destroy();
  socket.once('end', destroy); // the client read the answer and closed its side
  socket.end(rawProblemResponse(clientErrorProblem(error)), () => {
    setTimeout(destroy, LINGER_MS).unref();
  });
}

/**
 * Fastify's `frameworkErrors`: what it refuses before routing, so before Nest's filters see the
 * request (a URL that does not percent-decode, a path parameter over `maxParamLength`).
 */
export function frameworkErrorHandler(
  retryAfterSeconds: number,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const p =
      error.code === 'FST_ERR_BAD_URL'
        ? problem(400, 'malformed_request', 'the request URL is not validly percent-encoded')
        : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? problem(414, 'uri_too_long', 'a path segment of the request URL is too long')
          : problem(500, 'internal_error', 'internal error; the request was not processed', true);
    if (p.status >= 500) {
      logger.error(`${request.method}: ${error.code}: ${error.message}`);
    }
    sendProblem(reply, p, retryAfterSeconds);
  };
}

/**
 * Node's `checkExpectation`: an `Expect` other than `100-continue` (RFC 9110 §10.1.1) is 417.
 * Node's own 417 has no body. The connection is closed: the client may be sending the body it
 * meant to hold back, which would otherwise be read as the next request.
 */
export function answerExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const p = problem(
    417,
    'expectation_failed',
    'the only expectation this server meets is Expect: 100-continue',
  );
  const body = JSON.stringify(p);
  response
    .writeHead(417, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      connection: 'close',
    })
    .end(body);
}

/**
 * A Fastify `onRequest` hook for what Node's `requireHostHeader` check would answer with an empty
 * 400: RFC 9112 §3.2, an HTTP/1.1 request without `Host` is refused. Node's check is turned off
 * (bootstrap) so that this answer is problem+json.
 */
export function requireHostHeader(
  retryAfterSeconds: number,
): (request: FastifyRequest, reply: FastifyReply, done: () => void) => void {
  return (request, reply, done) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      void reply.header('connection', 'close');
      sendProblem(
        reply,
        problem(400, 'malformed_request', 'an HTTP/1.1 request needs a Host header'),
        retryAfterSeconds,
      );
      return;
    }
    done();
  };
}

/**
 * Requests that reach a closing writer (pipelined, or on a kept-alive connection, after shutdown
 * began) are answered 503 problem+json with Retry-After, and their connection is closed: the
 * client retries, through the load balancer, on another instance. It replaces Fastify's
 * `return503OnClosing`, whose 503 has a body of Fastify's own.
 */
export function refuseWhileClosing(fastify: FastifyInstance, retryAfterSeconds: number): void {
  let closing = false;
  // Fastify runs preClose hooks once it stopped routing as usual, before closing the server.
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    sendProblem(
      reply,
      problem(
        503,
        'shutting_down',
        'this writer instance is shutting down; retry the request',
        true,
      ),
      retryAfterSeconds,
    );
  });
}
