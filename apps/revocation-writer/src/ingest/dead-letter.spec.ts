import { tokenHash } from '@rescind/contracts';
import { IdempotencyConflictError } from '../errors';
import { DeadLetterHeaders, deadLetterOf, type FailedRecord } from './dead-letter';

const failedAt = new Date('2030-01-02T03:04:05.000Z');

function record(value: Buffer | null): FailedRecord {
  return {
    topic: 'hr.events.v1',
    partition: 4,
    offset: '9007199254740993',
    key: Buffer.from([0xc3, 0x28]),
    value,
    headers: { 'rescind-schema-version': 'v1', binary: Buffer.from([0x00, 0xff]) },
  };
}

describe(deadLetterOf.name, () => {
  it('keeps the original key, bytes and headers, byte for byte, even when they are not UTF-8', () => {
    const value = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
    const letter = deadLetterOf(record(value), new Error('boom'), failedAt);
    expect(Buffer.compare(letter.value as Buffer, value)).toBe(0);
    expect(Buffer.compare(letter.key as Buffer, Buffer.from([0xc3, 0x28]))).toBe(0);
    expect(letter.headers).toMatchObject({
      'rescind-schema-version': 'v1',
      binary: Buffer.from([0x00, 0xff]),
    });
  });

  it('says why and where in headers: the error code, the source topic, partition and offset', () => {
    const error = new IdempotencyConflictError('hr', 'e-1');
    const letter = deadLetterOf(record(Buffer.from('{}')), error, failedAt);
    expect(letter.headers).toMatchObject({
      [DeadLetterHeaders.reason]: 'idempotency_conflict',
      [DeadLetterHeaders.detail]: error.message,
      [DeadLetterHeaders.topic]: 'hr.events.v1',
      [DeadLetterHeaders.partition]: '4',
      [DeadLetterHeaders.offset]: '9007199254740993',
      [DeadLetterHeaders.failedAt]: '2030-01-02T03:04:05.000Z',
    });
  });

  it('calls an error without a code internal_error', () => {
    const letter = deadLetterOf(record(null), new TypeError('x is undefined'), failedAt);
    expect(letter.headers?.[DeadLetterHeaders.reason]).toBe('internal_error');
    expect(letter.value).toBeNull();
  });

  it('never carries a raw token: a leaked token is replaced by its hash (promise 7)', () => {
    const event = { id: 's-1', type: 'token.leaked', token: 'raw-secret-token' };
    const letter = deadLetterOf(
      record(Buffer.from(JSON.stringify(event))),
      new Error('x'),
      failedAt,
    );
    const text = (letter.value as Buffer).toString();
    expect(text).not.toContain('raw-secret-token');
    expect(JSON.parse(text)).toEqual({
      ...event,
      token: `sha256:${tokenHash('raw-secret-token')}`,
    });
  });
});
