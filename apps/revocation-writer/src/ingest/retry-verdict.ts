import { databaseError, RescindError } from '../errors';

/** Unknown errors are retried this often before the record is dead-lettered: no stuck partition. */
export const MAX_UNEXPECTED_FAILURES = 5;

/** Neither a database error nor a domain error: a bug in our code, or something nobody foresaw. */
export function isUnexpected(error: unknown): boolean {
  return !(error instanceof RescindError) && databaseError(error) === undefined;
}

/**
 * Retry or dead-letter an input record whose handler threw `error`? A database error means what
 * the one classifier says (`databaseError`, as over HTTP): a PostgreSQL outage is always retried,
 * however long it lasts (never dead-lettered); a value PostgreSQL cannot store, a constraint
 * violation or any other database error (a bug, which retrying does not fix) is dead-lettered at
 * once. A domain error says so itself (`retriable`). Anything else is retried until it has failed
 * `MAX_UNEXPECTED_FAILURES` times, then dead-lettered, so that one record cannot stop its
 * partition for good (the stock Kafka transport retries it forever: nestjs/nest#14664).
 */
export function retryVerdict(error: unknown, unexpectedFailures: number): 'retry' | 'dead-letter' {
  const known = databaseError(error) ?? error;
  if (known instanceof RescindError) {
    return known.retriable ? 'retry' : 'dead-letter';
  }
  return unexpectedFailures < MAX_UNEXPECTED_FAILURES ? 'retry' : 'dead-letter';
}
