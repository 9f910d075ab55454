/**
 * The dead-letter topic's contract: what a consumer of the DLQ (an operator's replay tool, a
 * SIEM) reads on each record there. The writer writes it (apps/revocation-writer, ingest/
 * dead-letter.ts); the input topics' own header is here too, since a dead letter keeps it.
 */

/** Kafka header names producers may set on input-topic (HR, IdP, SIEM) records. */
export const SourceEventHeaders = {
  contentType: 'content-type',
  /** `SOURCE_EVENT_SCHEMA_VERSION` of the value; a record without it is read as that version. */
  schemaVersion: 'rescind-schema-version',
} as const;

/**
 * Headers of a dead letter: why, where the original came from, and how its value was redacted.
 * The original record stays on its input topic, at `topic`/`partition`/`offset`.
 *
 * @example
 * const reason = message.headers?.[DeadLetterHeaders.reason]?.toString(); // 'invalid_event'
 */
export const DeadLetterHeaders = {
  /** The writer's stable error code (`invalid_event`, `unknown_employee`, `internal_error`...). */
  reason: 'rescind-dlq-reason',
  /** The error message, with anything that may be a credential fingerprinted. */
  detail: 'rescind-dlq-detail',
  topic: 'rescind-dlq-source-topic',
  partition: 'rescind-dlq-source-partition',
  offset: 'rescind-dlq-source-offset',
  /** ISO 8601 time the writer gave up on the record. */
  failedAt: 'rescind-dlq-failed-at',
  /** `json` or `fingerprint` (see {@link DeadLetterValue}); absent when the record had no value. */
  value: 'rescind-dlq-value',
} as const;

/**
 * What a dead letter's value is. `json`: the original JSON, re-serialised, with every member
 * that may hold a credential replaced by `sha256:<base64url>`. `fingerprint`: the original was
 * not JSON, so nothing of it could be told apart from a token; the value is a
 * {@link Fingerprinted} document instead of its bytes.
 */
export type DeadLetterValue = 'json' | 'fingerprint';

/** The value of a dead letter whose original was not JSON: which bytes, not the bytes. */
export interface Fingerprinted {
  redacted: true;
  reason: 'not_json';
  /** SHA-256 of the original bytes, hex: to match it with the record on the input topic. */
  sha256: string;
  /** Length of the original value in bytes. */
  bytes: number;
}
