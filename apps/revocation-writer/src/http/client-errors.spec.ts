import { clientErrorProblem, rawProblemResponse } from './client-errors';

const parseError = (code: string, reason: string) =>
  Object.assign(new Error(`Parse Error: ${reason}`), { code, reason });

describe(clientErrorProblem.name, () => {
  it.each([
    [
      Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
      408,
      'request_timeout',
      true,
    ],
    [parseError('HPE_HEADER_OVERFLOW', 'Header overflow'), 431, 'header_too_large', false],
    [
      parseError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow'),
      413,
      'body_too_large',
      false,
    ],
    [
      parseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length'),
      400,
      'malformed_request',
      false,
    ],
  ])('maps %s to %i %s', (error, status, code, retriable) => {
    expect(clientErrorProblem(error)).toMatchObject({
      type: `urn:rescind:problem:${code}`,
      status,
      code,
      retriable,
    });
  });

  it("names llhttp's fixed reason, never the bytes the client sent", () => {
    const error = Object.assign(parseError('HPE_INVALID_METHOD', 'Invalid method encountered'), {
      rawPacket: Buffer.from('GET /?token=secret HTTP/1.1'),
    });
    const { detail } = clientErrorProblem(error);
    expect(detail).toBe('the request is not valid HTTP/1.1: Invalid method encountered');
    expect(clientErrorProblem(new Error('anything else: secret')).detail).not.toContain('secret');
  });
});

describe(rawProblemResponse.name, () => {
  it('is one complete HTTP/1.1 answer: status line, Content-Length in bytes, Connection: close', () => {
    const problem = { ...clientErrorProblem(new Error('x')), detail: 'non-ASCII: é' };
    const raw = rawProblemResponse(problem, new Date('2026-12-02T10:00:00Z'));
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 400 Bad Request',
      'Date: Wed, 02 Dec 2026 10:00:00 GMT',
      'Content-Type: application/problem+json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'Connection: close',
    ]);
    expect(Buffer.byteLength(body)).toBe(body.length + 1);
    expect(JSON.parse(body)).toEqual(problem);
  });
});
