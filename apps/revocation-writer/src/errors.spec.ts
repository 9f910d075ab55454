import { runInNewContext } from 'node:vm';
import { DatabaseError } from 'pg';
import {
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import {
  classifyDatabaseError,
  DatabaseBugError,
  databaseError,
  InvalidEventError,
  StorageConflictError,
  StorageUnavailableError,
  UnstorableInputError,
} from './errors';
import { httpStatus } from './http/problem-details';

/** What pg throws for an ErrorResponse from the server, as TypeORM hands it on. */
function fromPostgres(code: string, message: string): QueryFailedError {
  const driverError = Object.assign(new DatabaseError(message, 0, 'error'), {
    code,
    severity: 'ERROR',
  });
  return new QueryFailedError('INSERT ...', [], driverError);
}

describe(classifyDatabaseError.name, () => {
  it.each([
    ['08006', 'connection failure'],
    ['08P01', 'protocol violation'],
    ['53300', 'too many connections'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['57014', 'canceling statement due to statement timeout'],
    ['55P03', 'could not obtain lock'],
    ['58030', 'could not write to file'],
    ['25006', 'cannot execute INSERT in a read-only transaction'],
    ['40001', 'could not serialize access'],
    ['40P01', 'deadlock detected'],
  ])('calls SQLSTATE %s (%s) unavailable: 503, retriable', (code, message) => {
    const error = fromPostgres(code, message);
    expect(classifyDatabaseError(error)).toBe('unavailable');
    expect(databaseError(error)).toBeInstanceOf(StorageUnavailableError);
    expect(databaseError(error)).toMatchObject({ retriable: true });
    expect(httpStatus(databaseError(error)!.code)).toBe(503);
  });

  it.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['22P02', 'invalid input syntax for type json'],
    ['22001', 'value too long for type character varying(200)'],
    ['22008', 'date/time field value out of range'],
    ['54000', 'index row size 3096 exceeds btree version 4 maximum 2704 for index "x"'],
  ])('calls SQLSTATE %s (%s) input it cannot store: 422, never retried', (code, message) => {
    const error = databaseError(fromPostgres(code, message));
    expect(classifyDatabaseError(fromPostgres(code, message))).toBe('input');
    expect(error).toBeInstanceOf(UnstorableInputError);
    expect(error).toMatchObject({ code: 'unstorable_input', retriable: false });
    expect(httpStatus(error!.code)).toBe(422);
    expect(error?.message).toContain(`SQLSTATE ${code}: ${message}`);
  });

  it.each([
    ['23505', 'duplicate key value violates unique constraint "outbox_pkey"'],
    ['23514', 'new row violates check constraint'],
    ['23502', 'null value in column violates not-null constraint'],
  ])('calls SQLSTATE %s (%s) a conflict: 409, never retried', (code, message) => {
    expect(classifyDatabaseError(fromPostgres(code, message))).toBe('conflict');
    expect(databaseError(fromPostgres(code, message))).toMatchObject({
      code: 'storage_conflict',
      retriable: false,
    });
    expect(httpStatus('storage_conflict')).toBe(409);
    expect(databaseError(fromPostgres(code, message))).toBeInstanceOf(StorageConflictError);
  });

  it.each([
    ['42601', 'syntax error at or near "SELEC"'],
    ['42P01', 'relation "revocation_rule" does not exist'],
    ['42501', 'audit_log is append-only (UPDATE refused)'],
    ['0A000', 'feature not supported'],
    ['XX000', 'cache lookup failed for relation 16384'],
    ['P0001', 'raised by a function'],
  ])('calls any other SQLSTATE (%s, %s) a bug: 500, not retriable', (code, message) => {
    const error = databaseError(fromPostgres(code, message));
    expect(classifyDatabaseError(fromPostgres(code, message))).toBe('bug');
    expect(error).toBeInstanceOf(DatabaseBugError);
    expect(error).toMatchObject({ code: 'internal_error', verdict: 'bug', retriable: false });
    expect(httpStatus(error!.code)).toBe(500);
    // The database's words go to the log (the message), not to clients (publicDetail).
    expect(error?.message).toContain(message);
    expect(DatabaseBugError.publicDetail).not.toContain(message);
  });

  it('calls a lost connection unavailable, by its Node code or by what pg says', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const terminated = new Error('Connection terminated unexpectedly');
    const poolTimeout = new Error('timeout exceeded when trying to connect');
    for (const error of [refused, terminated, poolTimeout, new Error('x', { cause: refused })]) {
      expect(classifyDatabaseError(error)).toBe('unavailable');
    }
  });

  it('calls a query runner TypeORM released after its connection died unavailable (found by the chaos tier)', () => {
    // pg_terminate_backend mid-transaction: TypeORM releases the runner, and the next statement
    // of the transaction (or its ROLLBACK) throws this instead of a pg error.
    for (const error of [
      new QueryRunnerAlreadyReleasedError(),
      // The same, from an entity manager whose query runner was released (a fresh CI run's 500).
      new QueryRunnerProviderAlreadyReleasedError(),
    ]) {
      expect(classifyDatabaseError(error)).toBe('unavailable');
      expect(databaseError(error)).toBeInstanceOf(StorageUnavailableError);
      expect(httpStatus(databaseError(error)!.code)).toBe(503);
    }
  });

  it("calls a lost connection unavailable when Node's error is from another realm (a socket's, under jest)", () => {
    const reset = Object.assign(runInNewContext('new Error("read ECONNRESET")') as Error, {
      code: 'ECONNRESET',
    });
    expect(reset).not.toBeInstanceOf(Error);
    expect(classifyDatabaseError(reset)).toBe('unavailable');
    expect(classifyDatabaseError(new Error('x', { cause: reset }))).toBe('unavailable');
  });

  it('leaves errors that did not come from the database alone', () => {
    const notFromPostgres = [
      new TypeError("Cannot read properties of undefined (reading 'sub')"),
      Object.assign(new Error('no such file'), { code: 'EPERM' }),
      new InvalidEventError([{ pointer: '/subject', detail: 'is required' }]),
      { status: 'error', message: 'Internal server error' },
      undefined,
    ];
    for (const error of notFromPostgres) {
      expect(classifyDatabaseError(error)).toBeUndefined();
      expect(databaseError(error)).toBeUndefined();
    }
  });

  it('keeps an error classified already as it is', () => {
    const classified = databaseError(fromPostgres('22021', 'invalid byte sequence'))!;
    expect(databaseError(classified)).toBe(classified);
    expect(classifyDatabaseError(classified)).toBe('input');
    const unavailable = new StorageUnavailableError(new Error('down'));
    expect(classifyDatabaseError(unavailable)).toBe('unavailable');
  });
});
