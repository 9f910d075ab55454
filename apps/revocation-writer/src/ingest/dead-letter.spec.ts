import { DeadLetterHeaders, tokenHash } from '@rescind/contracts';
import type { IHeaders, Message } from 'kafkajs';
import { createHash } from 'node:crypto';
import { IdempotencyConflictError, InvalidEventError, RescindError } from '../errors';
import { fingerprint } from './credential-redaction';
import { deadLetterOf, type FailedRecord, RedactedRecord } from './dead-letter';

const failedAt = new Date('2030-01-02T03:04:05.000Z');
const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
const JWT = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ sub: 'alice', exp: 1 })}.MEUCIQDsignature`;
const OPAQUE = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';
const READABLE = 'opaque-leaked-token-7f3c9a1e-do-not-store';

function record(
  value: Buffer | string | null,
  overrides: Partial<Pick<FailedRecord, 'key' | 'headers'>> = {},
): FailedRecord {
  return {
    topic: 'siem.events.v1',
    partition: 4,
    offset: '9007199254740993',
    key: Buffer.from('k-1'),
    value: typeof value === 'string' ? Buffer.from(value) : value,
    headers: { 'rescind-schema-version': 'v1' },
    ...overrides,
  };
}

/** Every byte of the dead letter: value, key, and each header's name and value. */
function bytesOf(letter: Message): Buffer[] {
  const header = (v: IHeaders[string]): Buffer[] =>
    v === undefined ? [] : [v].flat().map((item) => Buffer.from(item));
  return [
    ...(letter.value ? [Buffer.from(letter.value)] : []),
    ...(letter.key ? [Buffer.from(letter.key)] : []),
    ...Object.entries(letter.headers ?? {}).flatMap(([name, v]) => [
      Buffer.from(name),
      ...header(v),
    ]),
  ];
}

function expectNowhere(letter: Message, secret: string): void {
  const hits = bytesOf(letter).filter((bytes) => bytes.includes(secret));
  expect(hits.map(String)).toEqual([]);
}

const leaked = (token: unknown, extra: object = {}) =>
  JSON.stringify({
    id: 's-1',
    type: 'token.leaked',
    occurredAt: '2026-11-22T09:30:00Z',
    severity: 'high',
    token,
    ...extra,
  });

describe(deadLetterOf.name, () => {
  it('says why and where in headers: the error code, the source topic, partition and offset', () => {
    const error = new IdempotencyConflictError('hr', 'e-1');
    const letter = deadLetterOf(record('{}'), error, failedAt);
    expect(letter.headers).toMatchObject({
      [DeadLetterHeaders.reason]: 'idempotency_conflict',
      [DeadLetterHeaders.detail]: error.message,
      [DeadLetterHeaders.topic]: 'siem.events.v1',
      [DeadLetterHeaders.partition]: '4',
      [DeadLetterHeaders.offset]: '9007199254740993',
      [DeadLetterHeaders.failedAt]: '2030-01-02T03:04:05.000Z',
      [DeadLetterHeaders.value]: 'json',
      'rescind-schema-version': 'v1',
    });
    expect(letter.key).toEqual(Buffer.from('k-1'));
  });

  it('calls an error without a code internal_error', () => {
    const letter = deadLetterOf(record(null), new TypeError('x is undefined'), failedAt);
    expect(letter.headers?.[DeadLetterHeaders.reason]).toBe('internal_error');
    expect(letter.value).toBeNull();
    expect(letter.headers?.[DeadLetterHeaders.value]).toBeUndefined();
  });

  it('keeps an event without a credential as it was (re-serialised JSON)', () => {
    const event = { id: 'p-2', type: 'employee.terminated', occurredAt: '2026-11-22T09:30:00Z' };
    const letter = deadLetterOf(
      record(JSON.stringify(event, null, 2)),
      new InvalidEventError([]),
      failedAt,
    );
    expect(JSON.parse(String(letter.value))).toEqual(event);
  });

  it('replaces a leaked token by its hash and keeps the rest (promise 7)', () => {
    const letter = deadLetterOf(record(leaked(READABLE)), new Error('x'), failedAt);
    expect(JSON.parse(String(letter.value))).toEqual({
      ...(JSON.parse(leaked(READABLE)) as object),
      token: `sha256:${tokenHash(READABLE)}`,
    });
    expectNowhere(letter, READABLE);
  });

  it.each([
    ['not JSON', `{"id":"s-1","type":"token.leaked","token":"${READABLE}"`],
    ['not UTF-8', Buffer.concat([Buffer.from(`{"token":"${READABLE}`), Buffer.from([0xff])])],
    ['in a repeated member', `{"token":"${READABLE}","token":"x"}`],
    ['nested', JSON.stringify({ event: JSON.parse(leaked(READABLE)) as object })],
    ['misnamed', leaked(undefined, { tokn: READABLE })],
    ['misnamed as a known member', leaked(undefined, { subject: JWT })],
    ['under another credential member', leaked(undefined, { access_token: READABLE })],
    ['in an array body', JSON.stringify([JSON.parse(leaked(READABLE)) as object])],
    ['a bare string body', JSON.stringify(READABLE)],
    ['under a wrong-typed member (object)', leaked({ value: READABLE })],
    ['under a wrong-typed member (array)', leaked([READABLE])],
    ['used as a member name', JSON.stringify({ id: 's-1', [OPAQUE]: true })],
    ['a JWT in any member', JSON.stringify({ id: 's-1', note: `Bearer ${JWT}` })],
  ])('carries no byte of the token when it is %s', (_, value) => {
    const secret = value.includes(JWT) ? JWT : value.includes(OPAQUE) ? OPAQUE : READABLE;
    const letter = deadLetterOf(record(value), new RescindError('invalid_event', 'x'), failedAt);
    expectNowhere(letter, secret);
  });

  it('describes a value that is not JSON by hash and length, never by its bytes', () => {
    const value = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
    const letter = deadLetterOf(record(value), new Error('boom'), failedAt);
    expect(JSON.parse(String(letter.value))).toEqual({
      redacted: true,
      reason: 'not_json',
      sha256: createHash('sha256').update(value).digest('hex'),
      bytes: 5,
    });
    expect(letter.headers?.[DeadLetterHeaders.value]).toBe('fingerprint');
  });

  it('fingerprints a key that is, holds or repeats a token', () => {
    for (const [key, value] of [
      [READABLE, leaked(READABLE)],
      [`k:${READABLE}`, leaked(READABLE)],
      [READABLE, `not json: ${READABLE}`],
      [JWT, '{}'],
      [OPAQUE, '{}'],
    ] as const) {
      const letter = deadLetterOf(
        record(value, { key: Buffer.from(key) }),
        new Error('x'),
        failedAt,
      );
      expect(String(letter.key)).toBe(fingerprint(key));
    }
    expect(deadLetterOf(record('{]'), new Error('x'), failedAt).key).toEqual(Buffer.from('k-1'));
    const binary = Buffer.from([0xc3, 0x28]);
    expect(String(deadLetterOf(record('{}', { key: binary }), new Error('x'), failedAt).key)).toBe(
      fingerprint(binary),
    );
  });

  it('keeps the documented headers unless they hold a token; fingerprints every other value', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const letter = deadLetterOf(
      record(leaked(READABLE), {
        headers: {
          authorization: `Bearer ${OPAQUE}`,
          'x-source': 'workday',
          'x-readable': READABLE,
          'x-values': [Buffer.from('fine'), Buffer.from(JWT)],
          'x-binary': Buffer.from([0x00, 0xff]),
          [OPAQUE]: 'x',
          traceparent,
          'content-type': 'application/json',
          'rescind-schema-version': JWT,
          [DeadLetterHeaders.reason]: 'forged',
        },
      }),
      new Error('x'),
      failedAt,
    );
    expect({ ...letter.headers }).toEqual({
      authorization: fingerprint(`Bearer ${OPAQUE}`),
      'x-source': fingerprint('workday'),
      'x-readable': fingerprint(READABLE),
      'x-values': [fingerprint('fine'), fingerprint(JWT)],
      'x-binary': fingerprint(Buffer.from([0x00, 0xff])),
      [fingerprint(OPAQUE)]: fingerprint('x'),
      traceparent,
      'content-type': 'application/json',
      'rescind-schema-version': fingerprint(JWT),
      [DeadLetterHeaders.reason]: 'internal_error',
      [DeadLetterHeaders.detail]: 'x',
      [DeadLetterHeaders.topic]: 'siem.events.v1',
      [DeadLetterHeaders.partition]: '4',
      [DeadLetterHeaders.offset]: '9007199254740993',
      [DeadLetterHeaders.failedAt]: '2030-01-02T03:04:05.000Z',
      [DeadLetterHeaders.value]: 'json',
    });
  });

  it('fingerprints a key found in a header that was fingerprinted', () => {
    const letter = deadLetterOf(
      record('{}', { key: Buffer.from(READABLE), headers: { 'x-leaked': READABLE } }),
      new Error('x'),
      failedAt,
    );
    expect(String(letter.key)).toBe(fingerprint(READABLE));
  });

  it('scrubs an error message that echoes the token', () => {
    for (const [value, secret] of [
      [leaked(READABLE), READABLE],
      [`not json ${READABLE}`, READABLE],
      ['{}', JWT],
    ] as const) {
      const letter = deadLetterOf(
        record(value),
        new Error(`cannot use "${secret}" here`),
        failedAt,
      );
      expect(String(letter.headers?.[DeadLetterHeaders.detail])).toBe(
        `cannot use "${fingerprint(secret)}" here`,
      );
    }
  });
});

describe(RedactedRecord.name, () => {
  it('takes linear time: a megabyte-long run of token characters does not stall the partition', () => {
    const run = 'eyJhbGciOi'.repeat(100_000);
    const started = process.hrtime.bigint();
    for (const value of [run, JSON.stringify({ note: run }), `${run}.${run}`]) {
      const redacted = new RedactedRecord({
        key: Buffer.from(run),
        value: Buffer.from(value),
        headers: {},
      });
      redacted.scrub(`error about ${run}`);
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });

  it('scrubs log lines about the record with what its headers and key gave away', () => {
    const redacted = new RedactedRecord({
      key: Buffer.from('k-1'),
      value: Buffer.from('{}'),
      headers: { authorization: `Bearer ${READABLE}` },
    });
    expect(redacted.scrub(`failed for ${READABLE}`)).toBe(`failed for ${fingerprint(READABLE)}`);
  });
});
