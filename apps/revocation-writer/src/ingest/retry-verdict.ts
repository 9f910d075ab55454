import { classifyFailure } from '../failure';

/**
 * Retry or dead-letter an input record whose handler threw `error`? What it means is
 * {@link classifyFailure}'s to say, as for HTTP and SSF; this is what the Kafka ingest does with
 * each verdict:
 *
 * - retry later (a PostgreSQL outage): retried with back-off for as long as it lasts, never
 *   dead-lettered; the partition waits;
 * - reject (the domain refuses it, a value PostgreSQL cannot store, a constraint): dead-lettered;
 * - bug (any other database error, a `TypeError`, anything nobody foresaw): dead-lettered at the
 *   first failure. Retrying would run into the same bug, and hold the partition meanwhile (the
 *   stock Kafka transport retries it forever: nestjs/nest#14664); the dead letter keeps the
 *   record for a replay once the bug is fixed.
 */
export function retryVerdict(error: unknown): 'retry' | 'dead-letter' {
  return classifyFailure(error).verdict === 'retry' ? 'retry' : 'dead-letter';
}
