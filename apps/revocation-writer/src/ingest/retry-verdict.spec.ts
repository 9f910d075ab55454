import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { z } from 'zod';
import { InvalidEventError, StorageUnavailableError } from '../errors';
import { parseBody } from '../http/validation';
import { WebhookVerificationError } from './webhook-signature';
import { retryVerdict } from './retry-verdict';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
  code: 'ECONNREFUSED',
});

/** A server error as pg and TypeORM throw it. */
const fromPostgres = (code: string, message: string) =>
  new QueryFailedError(
    'INSERT ...',
    [],
    Object.assign(new DatabaseError(message, 0, 'error'), { code, severity: 'ERROR' }),
  );

/** What a handler threw, and so what the Kafka ingest does with the record. */
const thrownBy = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
};

describe(retryVerdict.name, () => {
  it('retries a PostgreSQL outage: an outage is never dead-lettered', () => {
    for (const error of [refused, new StorageUnavailableError(refused)]) {
      expect(retryVerdict(error)).toBe('retry');
    }
  });

  it.each([
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
    ['57P01', 'terminating connection due to administrator command'],
    ['40001', 'could not serialize access'],
    ['40P01', 'deadlock detected'],
    ['25006', 'cannot execute INSERT in a read-only transaction'],
  ])('retries a database that is not there right now (SQLSTATE %s: %s)', (code, message) => {
    expect(retryVerdict(fromPostgres(code, message))).toBe('retry');
  });

  it.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', 'input it cannot store'],
    ['54000', 'index row size 3096 exceeds btree version 4 maximum 2704', 'a program limit'],
    ['23505', 'duplicate key value violates unique constraint', 'a conflict'],
    ['42P01', 'relation "outbox" does not exist', 'a bug (retrying does not fix it)'],
    ['XX000', 'cache lookup failed', 'an internal error'],
  ])('dead-letters SQLSTATE %s at the first attempt: %s is %s, never retried', (code, message) => {
    expect(retryVerdict(fromPostgres(code, message))).toBe('dead-letter');
  });

  it('dead-letters a record the domain rejects', () => {
    const invalid = thrownBy(() => parseBody(z.object({ subject: z.string() }), { subject: 1 }));
    expect(invalid).toBeInstanceOf(InvalidEventError);
    const rejected = [
      invalid,
      new InvalidEventError([{ pointer: '/subject', detail: 'is required' }]),
      new WebhookVerificationError('no webhook-signature matches'),
    ];
    for (const error of rejected) {
      expect(retryVerdict(error)).toBe('dead-letter');
    }
  });

  it('dead-letters a bug (TypeError, RangeError, a raw ZodError) at the first failure, never retried as if it were an outage', () => {
    const bugs = [
      thrownBy(() => (undefined as unknown as { sub: string }).sub),
      thrownBy(() => new Date(Number.NaN).toISOString()),
      thrownBy(() => z.object({ subject: z.string() }).parse({})),
      'a thrown string',
    ];
    expect(bugs[0]).toBeInstanceOf(TypeError);
    expect(bugs[1]).toBeInstanceOf(RangeError);
    expect(bugs[2]).toBeInstanceOf(z.ZodError);
    for (const bug of bugs) {
      expect(retryVerdict(bug)).toBe('dead-letter');
    }
  });

  it("dead-letters Nest's generic RPC error (what a handler's error becomes without RethrowToTransport)", () => {
    expect(retryVerdict({ status: 'error', message: 'Internal server error' })).toBe('dead-letter');
  });
});
