import { once } from 'node:events';
import { connect } from 'node:net';
import { sharedBrokers } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { type RunningWriter, startWriter } from '../support/writer';

/** Short on purpose: what the test waits for is bounded by these, not by Node's minutes. */
const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
/** Scheduling slack on a loaded two-core machine, on top of the timeout-check interval. */
const SLACK_MS = 1500;
/** How long a test client waits for an answer before it reports none. */
const NO_ANSWER_AFTER_MS = 6000;

interface RawAnswer {
  /** Everything received until the server closed (or the client gave up). */
  bytes: Buffer;
  closedByServer: boolean;
  elapsedMs: number;
}

/**
 * Sends `chunks` on a raw TCP connection, `gapMs` apart (a slow client), and collects everything
 * the writer answers until it closes the connection. No HTTP client library: they refuse to
 * send what these tests send.
 */
function rawExchange(
  writer: RunningWriter,
  chunks: Array<string | Buffer>,
  gapMs = 0,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(writer.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let settled = false;
    const settle = (closedByServer: boolean) => {
      if (!settled) {
        settled = true;
        clearTimeout(giveUp);
        clearTimeout(nextChunk);
        socket.destroy();
        resolve({
          bytes: Buffer.concat(received),
          closedByServer,
          elapsedMs: Date.now() - started,
        });
      }
    };
    const giveUp = setTimeout(() => settle(false), NO_ANSWER_AFTER_MS);
    let nextChunk: NodeJS.Timeout | undefined;
    socket.on('data', (data) => received.push(data));
    socket.on('end', () => settle(true));
    socket.on('close', () => settle(true));
    socket.on('error', () => settle(true));
    const send = (i: number) => {
      if (i < chunks.length && !socket.destroyed && socket.writable) {
        socket.write(chunks[i]!);
        nextChunk = setTimeout(() => send(i + 1), gapMs);
      }
    };
    socket.on('connect', () => send(0));
  });
}

interface ParsedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Bytes after the body that Content-Length announced (none in a well-formed answer). */
  trailing: number;
}

/** One HTTP/1.1 response with a Content-Length body, as received on the wire. */
function parseAnswer({ bytes }: Pick<RawAnswer, 'bytes'>): ParsedAnswer {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) {
    throw new Error(`no complete HTTP answer: ${JSON.stringify(bytes.toString('latin1'))}`);
  }
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length']);
  const rest = bytes.subarray(end + 4);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]),
    headers,
    body: rest.subarray(0, length).toString('utf8'),
    trailing: rest.length - length,
  };
}

/**
 * The answer is exactly one RFC 9457 problem+json document of `status` and `code`, and, unless
 * the request could be read to its end (`keepsConnection`), the connection is closed.
 */
function expectProblem(
  answer: RawAnswer,
  status: number,
  code: string,
  { keepsConnection = false } = {},
): Record<string, unknown> {
  const parsed = parseAnswer(answer);
  expect(parsed.status).toBe(status);
  expect(parsed.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  expect(parsed.trailing).toBe(0);
  if (!keepsConnection) {
    expect(parsed.headers['connection']).toBe('close');
    expect(answer.closedByServer).toBe(true);
  }
  const problem = JSON.parse(parsed.body) as Record<string, unknown>;
  expect(problem).toEqual({
    type: `urn:rescind:problem:${code}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    retriable: expect.any(Boolean),
  });
  return problem;
}

const post = (headers: string[], body = '{}') =>
  `POST /v1/revocations HTTP/1.1\r\nHost: writer\r\nContent-Type: application/json\r\n${headers
    .map((h) => `${h}\r\n`)
    .join('')}\r\n${body}`;

/**
 * What Node's HTTP parser and Fastify refuse before any handler runs is answered like every
 * other error, as RFC 9457 problem+json, and slow or short requests are answered within the
 * configured timeouts (HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS) instead of never.
 */
describe('HTTP client errors and timeouts', () => {
  let schema: TestSchema;
  let writer: RunningWriter;

  beforeAll(async () => {
    schema = await createTestSchema('http_client_errors');
    writer = await startWriter(schema, sharedBrokers(), {
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await writer?.stop();
    await schema?.drop();
  });

  it('answers 431 problem+json to an oversize header block (RFC 6585 §5)', async () => {
    const answer = await rawExchange(writer, [
      `GET /health/live HTTP/1.1\r\nHost: writer\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    ]);
    expect(expectProblem(answer, 431, 'header_too_large')).toMatchObject({ retriable: false });
  });

  it.each([
    ['an invalid Content-Length', post(['Content-Length: two'])],
    ['a Content-Length list', post(['Content-Length: 2, 2'])],
    ['conflicting Content-Lengths', post(['Content-Length: 2', 'Content-Length: 3'])],
    ['a duplicate Content-Length', post(['Content-Length: 2', 'Content-Length: 2'])],
    [
      'Content-Length with Transfer-Encoding (RFC 9112 §6.1)',
      post(['Content-Length: 2', 'Transfer-Encoding: chunked'], '2\r\n{}\r\n0\r\n\r\n'),
    ],
    ['a request line that is not HTTP', 'HELLO WRITER\r\n\r\n'],
  ])('answers 400 problem+json to %s', async (_, request) => {
    const problem = expectProblem(await rawExchange(writer, [request]), 400, 'malformed_request');
    expect(problem.retriable).toBe(false);
  });

  it('answers 408 problem+json to a body shorter than its Content-Length, once the request timeout passes', async () => {
    const answer = await rawExchange(writer, [post(['Content-Length: 100'], '{"rules":')]);
    expect(expectProblem(answer, 408, 'request_timeout')).toMatchObject({ retriable: true });
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(answer.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it('answers 408 problem+json to headers sent too slowly, once the headers timeout passes', async () => {
    // One header line every 300 ms, for longer than the test waits: a slowloris client.
    const lines = ['GET /health/live HTTP/1.1\r\n', 'Host: writer\r\n'];
    for (let i = 0; i < 30; i++) {
      lines.push(`X-Slow-${i}: ${i}\r\n`);
    }
    const answer = await rawExchange(writer, lines, 300);
    expectProblem(answer, 408, 'request_timeout');
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(answer.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  });

  it('answers 400 problem+json to an HTTP/1.1 request without Host (RFC 9112 §3.2)', async () => {
    expectProblem(
      await rawExchange(writer, ['GET /health/live HTTP/1.1\r\n\r\n']),
      400,
      'malformed_request',
    );
  });

  it.each([
    ['a URL that does not percent-decode', '/v1/revocations/%zz', 400, 'malformed_request'],
    ['an overlong path parameter', `/v1/revocations/${'a'.repeat(200)}`, 414, 'uri_too_long'],
  ])('answers problem+json to %s', async (_, path, status, code) => {
    const request = `GET ${path} HTTP/1.1\r\nHost: writer\r\nConnection: close\r\n\r\n`;
    expectProblem(await rawExchange(writer, [request]), status, code, { keepsConnection: true });
  });

  it('answers 417 problem+json to an expectation other than 100-continue (RFC 9110 §10.1.1)', async () => {
    expectProblem(
      await rawExchange(writer, [post(['Expect: teapot', 'Content-Length: 2'])]),
      417,
      'expectation_failed',
    );
  });

  it('answers 503 problem+json with Retry-After to a request that reaches a writer shutting down', async () => {
    const closing = await startWriter(schema, sharedBrokers());
    const server = closing.app.getHttpServer();
    const { hostname, port } = new URL(closing.url);
    const socket = connect(Number(port), hostname);
    try {
      await once(socket, 'connect');
      const received: Buffer[] = [];
      socket.on('data', (data: Buffer) => received.push(data));
      // A request whose body is still to come keeps the connection busy: shutdown leaves it open.
      const routed = once(server, 'request');
      socket.write(post(['Content-Length: 2'], ''));
      await routed;
      const closed = closing.stop();
      await waitFor('the writer to stop listening', () => !server.listening);
      // Its body, and a second request pipelined behind it, arrive while the writer closes.
      socket.write('{}GET /health/live HTTP/1.1\r\nHost: writer\r\n\r\n');
      await once(socket, 'end');
      await closed;
      const bytes = Buffer.concat(received);
      const second = bytes.indexOf('HTTP/1.1', 1);
      expect(second).toBeGreaterThan(0);
      const answer: RawAnswer = {
        bytes: bytes.subarray(second),
        closedByServer: true,
        elapsedMs: 0,
      };
      expect(expectProblem(answer, 503, 'shutting_down')).toMatchObject({ retriable: true });
      expect(Number(parseAnswer(answer).headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      socket.destroy();
    }
  });

  it('still serves well-formed requests, slow or not, within the timeouts', async () => {
    const answer = await rawExchange(
      writer,
      ['GET /health/live HTTP/1.1\r\n', 'Host: writer\r\n', 'Connection: close\r\n\r\n'],
      100,
    );
    const parsed = parseAnswer(answer);
    expect(parsed.status).toBe(200);
    expect(JSON.parse(parsed.body)).toEqual({ status: 'ok' });
  });
});
