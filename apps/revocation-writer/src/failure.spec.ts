import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { z } from 'zod';
import {
  ConfirmationRequiredError,
  DatabaseBugError,
  ForbiddenError,
  IdempotencyConflictError,
  InvalidEventError,
  NotFoundError,
  RescindError,
  StorageConflictError,
  StorageUnavailableError,
  UnauthenticatedError,
  UnpublishableRuleError,
  UnstorableInputError,
  UnsupportedMediaTypeError,
} from './errors';
import { classifyFailure } from './failure';
import { InvalidHeaderError, InvalidQueryError } from './revocations/errors';
import { RuleNotActiveError } from './write-path/reinstatement';

/** A server error as pg and TypeORM throw it. */
const fromPostgres = (code: string, message: string) =>
  new QueryFailedError(
    'INSERT ...',
    [],
    Object.assign(new DatabaseError(message, 0, 'error'), { code, severity: 'ERROR' }),
  );

describe(classifyFailure.name, () => {
  it.each([
    [
      '08006 connection failure',
      fromPostgres('08006', 'connection failure'),
      StorageUnavailableError,
    ],
    ['22021 data exception', fromPostgres('22021', 'invalid byte sequence'), UnstorableInputError],
    ['54000 program limit', fromPostgres('54000', 'index row size exceeds'), UnstorableInputError],
    ['23505 constraint', fromPostgres('23505', 'duplicate key value'), StorageConflictError],
    ['42P01 anything else', fromPostgres('42P01', 'relation does not exist'), DatabaseBugError],
  ])('turns a database error (%s) into the domain error its SQLSTATE means', (_, thrown, type) => {
    expect(classifyFailure(thrown).error).toBeInstanceOf(type);
  });

  it.each([
    [
      'a lost connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    ['SQLSTATE 57P01', fromPostgres('57P01', 'terminating connection')],
    ['StorageUnavailableError', new StorageUnavailableError(new Error('down'))],
  ])('says retry later for %s', (_, thrown) => {
    expect(classifyFailure(thrown)).toMatchObject({ verdict: 'retry' });
    expect(classifyFailure(thrown).error?.retriable).toBe(true);
  });

  it.each([
    ['SQLSTATE 22021', fromPostgres('22021', 'invalid byte sequence')],
    ['SQLSTATE 23514', fromPostgres('23514', 'check constraint')],
    ['InvalidEventError', new InvalidEventError([{ pointer: '/id', detail: 'is required' }])],
    ['IdempotencyConflictError', new IdempotencyConflictError('hr', 'hr-1')],
    ['ForbiddenError', new ForbiddenError('no')],
    ['UnauthenticatedError', new UnauthenticatedError()],
    ['ConfirmationRequiredError', new ConfirmationRequiredError('confirm')],
    ['NotFoundError', new NotFoundError('no rule')],
    ['UnsupportedMediaTypeError', new UnsupportedMediaTypeError('application/json', 'text/plain')],
    ['UnpublishableRuleError', new UnpublishableRuleError('sub:alice', ['too long'])],
    ['InvalidQueryError', new InvalidQueryError([{ parameter: 'limit', detail: 'NaN' }])],
    ['InvalidHeaderError', new InvalidHeaderError('If-Match', 'not an ETag')],
    ['RuleNotActiveError', new RuleNotActiveError('r-1', 'reinstated')],
    ['malformed_json', new RescindError('malformed_json', 'the message value is not JSON')],
  ])('says reject for %s', (_, thrown) => {
    expect(classifyFailure(thrown)).toMatchObject({ verdict: 'reject' });
    expect(classifyFailure(thrown).error?.retriable).toBe(false);
  });

  it.each([
    ['SQLSTATE 42601', fromPostgres('42601', 'syntax error')],
    ['SQLSTATE XX000', fromPostgres('XX000', 'cache lookup failed')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'sub')")],
    ['a RangeError', new RangeError('Invalid time value')],
    ['a ZodError nobody turned into InvalidEventError', z.string().safeParse(1).error],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
  ])('says bug for %s: never retried as if it were an outage', (_, thrown) => {
    expect(classifyFailure(thrown).verdict).toBe('bug');
  });

  it('keeps a RescindError as it is, and gives no domain error for a bug', () => {
    const error = new NotFoundError('no rule');
    expect(classifyFailure(error).error).toBe(error);
    expect(classifyFailure(new TypeError('x')).error).toBeNull();
  });
});
