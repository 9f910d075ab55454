import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { types } from 'node:util';
import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import { RevocationConsumerError } from './errors';
import { loadSnapshot } from './snapshot';
import type { UnreadableLine } from './unreadable-rules';

const header = JSON.stringify({ v: 1, type: 'snapshot', watermark: 9, generatedAt: 1_000 });
const end = (rules: number): string => JSON.stringify({ v: 1, type: 'snapshot.end', rules });

const ruleSet = (value: string, seq: number): string =>
  JSON.stringify({
    v: 1,
    type: 'rule.set',
    key: ruleKey({ claim: 'sub', value }),
    seq,
    revocationId: randomUUID(),
    committedAt: 1_000,
    rule: { claim: 'sub', value, iss: null, revokedBefore: 2_000, expiresAt: null },
  });

/** Valid JSON with a readable key, but a claim name the contract refuses. */
const SECRET = 'eyJhbGciOiJub25lIn0.c2VjcmV0.dG9rZW4';
const badClaim = JSON.stringify({
  v: 1,
  type: 'rule.set',
  key: 'Not%20A%20Claim::mallory',
  seq: 5,
  revocationId: randomUUID(),
  committedAt: 1_000,
  rule: { claim: 'Not A Claim', value: SECRET, iss: null, revokedBefore: 2_000, expiresAt: null },
});
/** Not JSON at all; the newline framing around it is intact. */
const notJson = `{"v":1,"type":"rule.set","key":"sub::eve","rule":{"value":"${SECRET}"`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe(loadSnapshot.name, () => {
  let server: Server;
  let url: string;
  /** What the server answers next, written in these chunks (one write each). */
  let chunks: string[] = [];

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const chunk of chunks) {
        response.write(chunk);
      }
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/deny-list/snapshot`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  const serve = (...lines: string[]): void => {
    chunks = [lines.map((l) => `${l}\n`).join('')];
  };

  const load = async () => {
    const applied: InvalidationEventV1[] = [];
    const skipped: Array<UnreadableLine & { line: number }> = [];
    const loaded = await loadSnapshot(
      { url, token: 'rsk_test' },
      (event) => applied.push(event),
      (line) => skipped.push(line),
    );
    return { loaded, applied, skipped };
  };

  it('skips an unreadable rule line, applies every other one and becomes loadable', async () => {
    serve(header, ruleSet('alice', 3), badClaim, notJson, ruleSet('bob', 4), end(4));
    const { loaded, applied, skipped } = await load();
    expect(loaded).toEqual({ header: JSON.parse(header) as unknown, rules: 2, unreadable: 2 });
    expect(applied.map((e) => e.key)).toEqual(['sub::alice', 'sub::bob']);
    expect(skipped).toEqual([
      {
        line: 3,
        key: 'Not%20A%20Claim::mallory',
        reason: expect.stringMatching(/^rule\.claim: must be a lower-case claim name/) as string,
        sha256: sha256(badClaim),
      },
      { line: 4, key: null, reason: 'not JSON', sha256: sha256(notJson) },
    ]);
    // Identified, never quoted: a line may carry anything.
    expect(JSON.stringify(skipped)).not.toContain(SECRET);
  });

  it('reads lines split across chunks, an unreadable one among them', async () => {
    const body = [header, ruleSet('carol', 3), badClaim, end(2)].map((l) => `${l}\n`).join('');
    chunks = body.match(/[^]{1,7}/g)!;
    const { loaded, skipped } = await load();
    expect(loaded).toMatchObject({ rules: 1, unreadable: 1 });
    expect(skipped.map((s) => s.sha256)).toEqual([sha256(badClaim)]);
  });

  it.each([
    [
      'fewer lines arrived than the end line announces',
      [header, ruleSet('alice', 3), badClaim, end(3)],
      'snapshot was cut short: 2 rules received (1 unreadable), 3 announced',
    ],
    [
      'the end line counts only readable lines',
      [header, ruleSet('alice', 3), badClaim, end(1)],
      'snapshot was cut short: 2 rules received (1 unreadable), 1 announced',
    ],
    [
      'there is no end line',
      [header, ruleSet('alice', 3), notJson],
      'snapshot was cut short after 2 rules (1 unreadable): no end line',
    ],
  ])(
    'still detects a snapshot cut short when %s: the end line counts every rule line, readable or not',
    async (_case, lines, message) => {
      serve(...lines);
      await expect(load()).rejects.toThrow(message);
    },
  );

  it.each([
    ['data after its end line', [header, badClaim, end(1), ruleSet('alice', 3)], /after its end/],
    [
      'an invalid end line',
      [header, badClaim, JSON.stringify({ v: 1, type: 'snapshot.end', rules: -1 })],
      /^snapshot end line is invalid: rules: /,
    ],
    [
      'a header that is not JSON',
      [notJson, ruleSet('alice', 3), end(1)],
      /^snapshot header line is not JSON$/,
    ],
  ])('refuses a snapshot whose framing is broken: %s', async (_case, lines, message) => {
    serve(...lines);
    await expect(load()).rejects.toThrow(message);
  });
});

describe(`${loadSnapshot.name}: what it throws`, () => {
  let server: Server;
  let base: string;
  /** How the server answers next. */
  let answer: { status: number; body: string; destroyAfterBody?: boolean } = {
    status: 200,
    body: '',
  };

  beforeAll(async () => {
    server = createServer((_request, response) => {
      if (answer.destroyAfterBody) {
        // Chunked, then the connection drops before the last chunk: a body cut mid-stream.
        response.writeHead(answer.status, { 'content-type': 'application/x-ndjson' });
        response.write(answer.body, () => response.socket?.destroy());
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'application/x-ndjson' });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  const failure = (url = `${base}/v1/deny-list/snapshot`) =>
    loadSnapshot({ url, token: 'rsk_test', timeoutMs: 5000 }, () => undefined).then(
      () => {
        throw new Error('the snapshot loaded');
      },
      (error: unknown) => error as RevocationConsumerError,
    );
  const lines = (...l: string[]): string => l.map((x) => `${x}\n`).join('');

  it.each<[string, string, { status: number; body: string; destroyAfterBody?: boolean }, RegExp]>([
    ['an HTTP error status', 'snapshot_unavailable', { status: 503, body: '' }, /HTTP 503$/],
    [
      'a body cut while streaming',
      'snapshot_truncated',
      { status: 200, body: lines(header, ruleSet('alice', 3)), destroyAfterBody: true },
      /^snapshot was cut short after 1 rules: terminated/, // undici's error, not 'no end line'
    ],
    [
      'no end line',
      'snapshot_truncated',
      { status: 200, body: lines(header, ruleSet('alice', 3)) },
      /no end line$/,
    ],
    [
      'an end line counting other lines',
      'snapshot_truncated',
      { status: 200, body: lines(header, end(2)) },
      /0 rules received, 2 announced$/,
    ],
    ['an empty body', 'snapshot_invalid', { status: 200, body: '' }, /^snapshot was empty/],
    [
      'a header that is not JSON',
      'snapshot_invalid',
      { status: 200, body: lines(notJson, end(0)) },
      /^snapshot header line is not JSON$/,
    ],
    [
      'a header that is not a snapshot header',
      'snapshot_invalid',
      { status: 200, body: lines(ruleSet('alice', 3), end(0)) },
      /^snapshot header line is invalid: /,
    ],
    [
      'an invalid end line',
      'snapshot_invalid',
      { status: 200, body: lines(header, JSON.stringify({ v: 1, type: 'snapshot.end' })) },
      /^snapshot end line is invalid: /,
    ],
    [
      'data after the end line',
      'snapshot_invalid',
      { status: 200, body: lines(header, end(0), ruleSet('alice', 3)) },
      /after its end line$/,
    ],
  ])('%s: %s', async (_case, code, served, message) => {
    answer = served;
    const error = await failure();
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('a writer that cannot be reached: snapshot_unavailable, with the network error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(`http://127.0.0.1:${port}/v1/deny-list/snapshot`);
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error.code).toBe('snapshot_unavailable');
    expect(error.message).toMatch(/^snapshot request failed: fetch failed \(.*ECONNREFUSED/);
    expect(types.isNativeError(error.cause) && error.cause.name).toBe('TypeError');
  });
});
