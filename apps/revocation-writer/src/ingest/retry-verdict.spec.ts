import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { InvalidEventError, StorageUnavailableError } from '../errors';
import { isUnexpected, MAX_UNEXPECTED_FAILURES, retryVerdict } from './retry-verdict';

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

describe(retryVerdict.name, () => {
  it('retries a PostgreSQL outage however often it failed: an outage is never dead-lettered', () => {
    for (const error of [refused, new StorageUnavailableError(refused)]) {
      expect(isUnexpected(error)).toBe(false);
      expect(retryVerdict(error, 1_000)).toBe('retry');
    }
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['40P01', 'deadlock detected'],
    ['25006', 'cannot execute INSERT in a read-only transaction'],
  ])(
    'retries a database that is not there right now (SQLSTATE %s) however often it failed',
    (code, message) => {
      expect(retryVerdict(fromPostgres(code, message), 1_000)).toBe('retry');
    },
  );

  it.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', 'input it cannot store'],
    ['54000', 'index row size 3096 exceeds btree version 4 maximum 2704', 'a program limit'],
    ['23505', 'duplicate key value violates unique constraint', 'a conflict'],
    ['42P01', 'relation "outbox" does not exist', 'a bug (retrying does not fix it)'],
    ['XX000', 'cache lookup failed', 'an internal error'],
  ])('dead-letters SQLSTATE %s at the first attempt: %s is %s, never retried', (code, message) => {
    const error = fromPostgres(code, message);
    expect(isUnexpected(error)).toBe(false);
    expect(retryVerdict(error, 0)).toBe('dead-letter');
  });

  it('dead-letters a record the domain rejects at once', () => {
    const error = new InvalidEventError([{ pointer: '/subject', detail: 'is required' }]);
    expect(isUnexpected(error)).toBe(false);
    expect(retryVerdict(error, 0)).toBe('dead-letter');
  });

  it(`retries a bug ${MAX_UNEXPECTED_FAILURES - 1} times, then dead-letters it so that the partition moves on (nestjs/nest#14664)`, () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'sub')");
    expect(isUnexpected(bug)).toBe(true);
    const verdicts = Array.from({ length: MAX_UNEXPECTED_FAILURES }, (_, i) =>
      retryVerdict(bug, i + 1),
    );
    expect(verdicts).toEqual([
      ...Array<string>(MAX_UNEXPECTED_FAILURES - 1).fill('retry'),
      'dead-letter',
    ]);
  });

  it("treats Nest's generic RPC error (what a handler's error becomes without RethrowToTransport) as unexpected", () => {
    const generic = { status: 'error', message: 'Internal server error' };
    expect(isUnexpected(generic)).toBe(true);
    expect(retryVerdict(generic, MAX_UNEXPECTED_FAILURES)).toBe('dead-letter');
  });
});
