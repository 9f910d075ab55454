import { isDatabaseUnavailable, RescindError } from '../errors';

/** Unknown errors are retried this often before the record is dead-lettered: no stuck partition. */
export const MAX_UNEXPECTED_FAILURES = 5;

/** Neither a PostgreSQL outage nor a domain error: a bug, or something nobody foresaw. */
export function isUnexpected(error: unknown): boolean {
  return !(error instanceof RescindError) && !isDatabaseUnavailable(error);
}

/**
 * Retry or dead-letter an input record whose handler threw `error`? A PostgreSQL outage is
 * always retried, however long it lasts (never dead-lettered); a domain error says so itself
 * (`retriable`); anything else is retried until it has failed `MAX_UNEXPECTED_FAILURES` times,
 * then dead-lettered, so that one record cannot stop its partition for good (the stock Kafka
 * transport retries it forever: nestjs/nest#14664).
 */
export function retryVerdict(error: unknown, unexpectedFailures: number): 'retry' | 'dead-letter' {
  if (isDatabaseUnavailable(error)) {
    return 'retry';
  }
  if (error instanceof RescindError) {
    return error.retriable ? 'retry' : 'dead-letter';
  }
  return unexpectedFailures < MAX_UNEXPECTED_FAILURES ? 'retry' : 'dead-letter';
}
