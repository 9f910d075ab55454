import { tokenHash } from '@rescind/contracts';
import type { IHeaders, Message } from 'kafkajs';
import { RescindError } from '../errors';

/** Headers of a dead letter: why, and where the original came from. */
export const DeadLetterHeaders = {
  reason: 'rescind-dlq-reason',
  detail: 'rescind-dlq-detail',
  topic: 'rescind-dlq-source-topic',
  partition: 'rescind-dlq-source-partition',
  offset: 'rescind-dlq-source-offset',
  failedAt: 'rescind-dlq-failed-at',
} as const;

/** An input record that can never be processed, and where it was read. */
export interface FailedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
}

/**
 * The dead letter of `record`: its original key, bytes and headers, plus the reason (the error's
 * stable code) and where it came from in `rescind-dlq-*` headers.
 */
export function deadLetterOf(record: FailedRecord, error: unknown, failedAt: Date): Message {
  const reason = error instanceof RescindError ? error.code : 'internal_error';
  const detail = error instanceof Error ? error.message : String(error);
  return {
    key: record.key,
    value: redactRawToken(record.value),
    headers: {
      ...record.headers,
      [DeadLetterHeaders.reason]: reason,
      [DeadLetterHeaders.detail]: detail.slice(0, 2000),
      [DeadLetterHeaders.topic]: record.topic,
      [DeadLetterHeaders.partition]: String(record.partition),
      [DeadLetterHeaders.offset]: record.offset,
      [DeadLetterHeaders.failedAt]: failedAt.toISOString(),
    },
  };
}

/**
 * The original bytes go to the dead-letter topic, except a leaked raw token (SIEM
 * `token.leaked`), which is replaced by its hash: raw tokens are never stored.
 */
function redactRawToken(value: Buffer | null): Buffer | null {
  if (value === null) {
    return null;
  }
  try {
    const parsed = JSON.parse(value.toString('utf8')) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      typeof (parsed as { token?: unknown }).token === 'string'
    ) {
      const token = (parsed as { token: string }).token;
      return Buffer.from(JSON.stringify({ ...parsed, token: `sha256:${tokenHash(token)}` }));
    }
  } catch {
    // not JSON: kept as received
  }
  return value;
}
