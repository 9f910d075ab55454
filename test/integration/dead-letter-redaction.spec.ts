import type { Message, Producer } from 'kafkajs';
import { createHash, randomBytes } from 'node:crypto';
import { collectRawTopic, type RawMessage, sharedBrokers, testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { signWebhook } from '../support/webhook-signing';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

// Three kinds of leaked token: readable opaque, random opaque, and a JWT.
const READABLE = `leaked-opaque-token-${randomBytes(6).toString('hex')}-do-not-store`;
const RANDOM = `Ab3${randomBytes(32).toString('base64url')}`;
const JWT = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'alice', jti: randomBytes(8).toString('hex') })}.${randomBytes(64).toString('base64url')}`;
const TOKENS = { READABLE, RANDOM, JWT };

/** Everything written to stdout and stderr (where pino logs) since the file started. */
const logged: string[] = [];
function captureLogs(): void {
  for (const stream of [process.stdout, process.stderr]) {
    jest
      .spyOn(stream, 'write')
      .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logged.push(Buffer.from(chunk).toString());
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      });
  }
}

function bytesOf(letter: RawMessage): Buffer[] {
  return [
    ...(letter.value ? [letter.value] : []),
    ...(letter.key ? [letter.key] : []),
    ...letter.headers.flatMap((h) => [Buffer.from(h.name), h.value]),
  ];
}

/** Which token (by name) some part of `letter` carries, as raw bytes. */
function tokensIn(parts: Buffer[]): string[] {
  return Object.entries(TOKENS)
    .filter(([, token]) => parts.some((bytes) => bytes.includes(token)))
    .map(([name]) => name);
}

/**
 * docs/design.md promise 7 (raw tokens are never stored or logged) and the dead-letter topic's own
 * rule (never a raw token in it): SIEM `token.leaked` messages that cannot be processed, in every
 * shape a producer may get wrong, reach the dead-letter topic without a byte of the token, and
 * the writer's logs, Kafka and HTTP alike, hold none either.
 */
describe('dead letters and logs of poison token.leaked messages', () => {
  const topics = testTopics('dlredact');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let producer: Producer;
  let dlq: { messages: RawMessage[]; stop(): Promise<void> };
  let siemToken: string;

  beforeAll(async () => {
    captureLogs();
    env = await startWriterEnvironment('dlredact', {
      topics,
      producer: true,
      config: {
        // Warnings are where dead-lettering and retries are told; info logs every request.
        LOG_LEVEL: 'info',
        KAFKA_INGEST_SOURCES: 'siem',
        KAFKA_INGEST_GROUP_ID: 'rescind-writer-dlredact',
        KAFKA_INGEST_MAX_WAIT_MS: '50',
        WEBHOOK_SOURCES: 'siem',
        WEBHOOK_SECRET_SIEM: SECRET,
      },
    });
    ({ writer, producer } = env);
    siemToken = await env.token('siem', 'siem');
    dlq = env.adopt(await collectRawTopic(sharedBrokers(), topics.names.deadLetter));
  });

  afterAll(async () => {
    await env?.close();
    jest.restoreAllMocks();
  });

  const at = new Date().toISOString();
  const leaked = (id: string, extra: object) =>
    JSON.stringify({ id, type: 'token.leaked', occurredAt: at, severity: 'high', ...extra });
  const v1 = { 'rescind-schema-version': 'v1' };

  it('dead-letters every kind of poison without a byte of the token in value, key or headers', async () => {
    const poison: Array<Message & { reason: string }> = [
      // not JSON at all, or cut short: nothing of it can be told apart from a token
      {
        value: `{"id":"dl-1","type":"token.leaked","token":"${READABLE}"`,
        reason: 'malformed_json',
      },
      { value: `token=${RANDOM}&type=token.leaked`, reason: 'malformed_json' },
      {
        value: Buffer.concat([Buffer.from(JWT), Buffer.from([0xff, 0xfe])]),
        reason: 'malformed_json',
      },
      // the wrong shape
      { value: leaked('dl-4', { event: { token: READABLE } }), reason: 'invalid_event' },
      { value: leaked('dl-5', { tokn: RANDOM }), reason: 'invalid_event' },
      {
        value: JSON.stringify([JSON.parse(leaked('dl-6', { token: JWT }))]),
        reason: 'invalid_event',
      },
      { value: leaked('dl-7', { token: { value: READABLE } }), reason: 'invalid_event' },
      { value: leaked('dl-8', { token: [RANDOM] }), reason: 'invalid_event' },
      {
        value: leaked('dl-9', { token: READABLE, severity: 'apocalyptic' }),
        reason: 'invalid_event',
      },
      { value: leaked('dl-10', { [RANDOM]: true }), reason: 'invalid_event' },
      { value: JSON.stringify(JWT), reason: 'invalid_event' },
      {
        value: JSON.stringify({
          id: 'dl-12',
          type: 'credential.compromised',
          occurredAt: at,
          subject: JWT,
        }),
        reason: 'invalid_event',
      },
      // the token in the key, in headers, and echoed by the error
      { key: RANDOM, value: '{"id": "dl-13",', reason: 'malformed_json' },
      { key: JWT, value: leaked('dl-14', {}), reason: 'invalid_event' },
      {
        value: leaked('dl-15', { token: READABLE }),
        headers: { 'rescind-schema-version': READABLE },
        reason: 'unsupported_schema_version',
      },
      {
        value: leaked('dl-16', {}),
        headers: { ...v1, authorization: `Bearer ${JWT}`, 'x-leaked': READABLE },
        reason: 'invalid_event',
      },
    ];
    // A valid event first, then the same id with another body: a conflict, dead-lettered with
    // a body of the right shape.
    await producer.send({
      topic: topics.names.siemEvents,
      messages: [
        { key: 'dl-0', value: leaked('dl-0', { token: READABLE }), headers: v1, partition: 0 },
      ],
    });
    poison.push({
      key: 'dl-0',
      value: leaked('dl-0', { token: READABLE, playbookId: 'pb-2' }),
      reason: 'idempotency_conflict',
    });
    await producer.send({
      topic: topics.names.siemEvents,
      messages: poison.map(({ reason: _, ...message }, i) => ({
        key: `dl-${i + 1}`,
        headers: v1,
        ...message,
        partition: 0,
      })),
    });

    const letters = await waitFor(`${poison.length} dead letters`, () =>
      dlq.messages.length >= poison.length ? dlq.messages : undefined,
    );
    const reasons = letters.map((l) =>
      l.headers.find((h) => h.name === 'rescind-dlq-reason')?.value.toString(),
    );
    expect(reasons).toEqual(poison.map((p) => p.reason));
    for (const [i, letter] of letters.entries()) {
      expect({ letter: i + 1, tokens: tokensIn(bytesOf(letter)) }).toEqual({
        letter: i + 1,
        tokens: [],
      });
    }

    // Not JSON: the value says which bytes, not the bytes.
    const first = Buffer.from(poison[0]!.value as string);
    expect(JSON.parse(letters[0]!.value!.toString())).toEqual({
      redacted: true,
      reason: 'not_json',
      sha256: createHash('sha256').update(first).digest('hex'),
      bytes: first.length,
    });
    // JSON: everything but what may be a credential is kept, and the original is findable.
    expect(JSON.parse(letters[8]!.value!.toString())).toMatchObject({
      id: 'dl-9',
      type: 'token.leaked',
      severity: 'apocalyptic',
      token: expect.stringMatching(/^sha256:[A-Za-z0-9_-]{43}$/),
    });
    for (const letter of letters) {
      expect(letter.headers.map((h) => h.name)).toEqual(
        expect.arrayContaining(['rescind-dlq-source-topic', 'rescind-dlq-source-offset']),
      );
    }
  });

  it('logs dead-lettering without the token', async () => {
    const text = await waitFor('the dead-lettering warnings', () => {
      const all = logged.join('');
      return all.includes('dead-lettering') ? all : undefined;
    });
    expect(tokensIn([Buffer.from(text)])).toEqual([]);
  });

  describe('over HTTP', () => {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${writer.url}/v1/events/siem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const bearer = (body: string) => post(body, { authorization: `Bearer ${siemToken}` });
    const signed = (body: string) => {
      const id = `msg_${randomBytes(6).toString('hex')}`;
      const timestamp = Math.floor(Date.now() / 1000);
      return post(body, {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(id, timestamp, body, SECRET),
      });
    };

    it('logs neither a leaked token nor a credential, and answers none, whatever the body', async () => {
      const before = logged.length;
      const statuses: number[] = [];
      const answers: Buffer[] = [];
      const send = async (response: Promise<Response>) => {
        const r = await response;
        statuses.push(r.status);
        answers.push(Buffer.from(await r.arrayBuffer()));
      };
      for (const [transport, via] of [
        ['bearer', bearer],
        ['signed', signed],
      ] as const) {
        await send(via(leaked(`h-${transport}`, { token: READABLE })));
        await send(via(leaked(`h-${transport}`, { token: RANDOM, severity: 'low' })));
        await send(via(leaked(`h-${transport}-2`, { tokn: JWT })));
        await send(via(`{"id":"h-${transport}-3","type":"token.leaked","token":"${RANDOM}"`));
        await send(via(`{"id":"h-${transport}-4","token": ${RANDOM}"}`));
        await send(via(JSON.stringify([JWT])));
      }
      await send(post(leaked('h-jwt', { token: JWT }), { authorization: `Bearer ${JWT}` }));
      expect(statuses).toEqual([202, 409, 422, 400, 400, 422, 202, 409, 422, 400, 400, 422, 401]);
      expect(tokensIn(answers)).toEqual([]);
      const text = await waitFor('the request logs', () =>
        logged.length >= before + statuses.length ? logged.slice(before).join('') : undefined,
      );
      expect(text).toContain('/v1/events/siem');
      expect(tokensIn([Buffer.from(text)])).toEqual([]);
      expect(text).not.toContain(siemToken);
    });

    it('logs no token from a query string or an unexpected header', async () => {
      const before = logged.length;
      const response = await fetch(
        `${writer.url}/v1/revocations?token=${encodeURIComponent(JWT)}&access_token=${READABLE}`,
        { headers: { 'x-api-key': RANDOM, 'proxy-authorization': `Bearer ${JWT}` } },
      );
      expect(response.status).toBe(401);
      const text = await waitFor('the request log', () =>
        logged.length > before ? logged.slice(before).join('') : undefined,
      );
      expect(text).toContain('/v1/revocations?[query omitted]');
      expect(tokensIn([Buffer.from(text)])).toEqual([]);
    });
  });
});
