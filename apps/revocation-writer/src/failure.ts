import { databaseError, RescindError, type Verdict } from './errors';

/** A thrown value, classified: what it means, and the domain error that says so. */
export interface Failure {
  verdict: Verdict;
  /**
   * The RescindError the thrown value is or means (a database error becomes the one of its
   * SQLSTATE); null for anything else, which is a bug.
   */
  error: RescindError | null;
}

/**
 * "Retry, reject, or is it a bug?", decided here once for every transport: the HTTP problem
 * filters, the OAuth filter, the Kafka ingest (retry or dead-letter) and the SSF poller.
 *
 * - A RescindError says it by its code (errors.ts).
 * - A database error, wherever it was thrown, means what its SQLSTATE (or lost connection)
 *   means: {@link databaseError}, the one classifier of database errors.
 * - Anything else (a `TypeError`, a `RangeError`, a thrown string, Nest's generic RPC error) is
 *   a bug: retrying the same input runs into it again, so it is never retried as if it were an
 *   outage.
 */
export function classifyFailure(thrown: unknown): Failure {
  const error = databaseError(thrown) ?? thrown;
  return error instanceof RescindError
    ? { verdict: error.verdict, error }
    : { verdict: 'bug', error: null };
}
