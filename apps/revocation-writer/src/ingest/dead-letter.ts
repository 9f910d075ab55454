import {
  DeadLetterHeaders,
  type DeadLetterValue,
  type Fingerprinted,
  SourceEventHeaders,
} from '@rescind/contracts';
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IHeaders, Message } from 'kafkajs';
import { classifyFailure } from '../failure';
import {
  containsJose,
  containsOpaqueSecret,
  fingerprint,
  MAX_KEPT_LENGTH,
  redactJson,
  Scrubber,
  wordsOf,
} from './credential-redaction';

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
 * Headers whose values a dead letter keeps: those the input topics document or the writer reads
 * (SourceEventHeaders; W3C trace context). Any other header keeps its name, but its value is
 * fingerprinted: a producer's own header may carry anything, and a credential's
 * (`authorization`, `x-api-key`, `cookie`) does.
 */
const KNOWN_HEADERS = new Set<string>([
  ...Object.values(SourceEventHeaders),
  'traceparent',
  'tracestate',
]);
/** W3C trace context: random ids by design, so randomness alone does not make them secret. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);
const MAX_HEADER_LENGTH = 1024;

/**
 * A failed record as it may leave the writer: nothing in it can be a raw token (docs/design.md,
 * promise 7; the SIEM's `token.leaked` carries one). The value: see {@link DeadLetterValue}.
 * The key (by the input topics' contract a subject or an event id) and the values of
 * {@link KNOWN_HEADERS} are kept when they are short UTF-8 text with no JWT or opaque secret in
 * it and nothing of what was redacted elsewhere in the record (the value's redacted strings or,
 * for a value that is not JSON, any of its words; other headers' values); else, like the values
 * of every other header, they are replaced by `sha256:<base64url>` of their bytes. `scrub` does
 * the same to free text about the record: error details, log lines.
 */
export class RedactedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly valueKind: DeadLetterValue | null;
  readonly headers: IHeaders;
  /** Knows every string of the record that was redacted, to find it again in free text. */
  private readonly scrubber = new Scrubber();

  constructor(record: Pick<FailedRecord, 'key' | 'value' | 'headers'>) {
    [this.value, this.valueKind] = this.redactValue(record.value);
    const headers = Object.entries(record.headers ?? {}).filter(
      // Ours are set by deadLetterOf; a record's own would pass for them.
      (entry): entry is [string, NonNullable<IHeaders[string]>] =>
        entry[1] !== undefined && !entry[0].startsWith('rescind-dlq-'),
    );
    const known = (name: string) => KNOWN_HEADERS.has(name.toLowerCase());
    // What the other headers hold is fingerprinted whatever it is, and looked for in the key
    // and the known headers: an `authorization` header's token is found there too.
    for (const [name, value] of headers) {
      if (!known(name)) {
        this.scrubber.add(...[value].flat().map((item) => item.toString()));
      }
    }
    this.key = record.key === null ? null : this.redactBytes(record.key, MAX_KEPT_LENGTH, true);
    // No prototype: a header named `__proto__` stays a header.
    this.headers = Object.create(null) as IHeaders;
    for (const [name, value] of headers) {
      const keep = known(name);
      const opaqueIsSecret = !TRACE_HEADERS.has(name.toLowerCase());
      const redactOne = (item: Buffer | string): Buffer | string => {
        const bytes = typeof item === 'string' ? Buffer.from(item) : item;
        const redacted = keep
          ? this.redactBytes(bytes, MAX_HEADER_LENGTH, opaqueIsSecret)
          : this.replace(bytes);
        return redacted === bytes ? item : redacted.toString();
      };
      const keptName = keep || nameMayStay(name) ? name : fingerprint(name);
      this.headers[keptName] = Array.isArray(value) ? value.map(redactOne) : redactOne(value);
    }
  }

  /** `text` without anything of the record that may be a credential. */
  scrub(text: string): string {
    return this.scrubber.scrub(text);
  }

  private redactValue(value: Buffer | null): [Buffer | null, DeadLetterValue | null] {
    if (value === null) {
      return [null, null];
    }
    const text = value.toString('utf8');
    const parsed = parseJson(text);
    if (parsed === undefined) {
      // Nothing in it can be told apart from a token: none of it is kept, and any of its words
      // found elsewhere (key, headers, error message) is fingerprinted there too.
      this.scrubber.add(...wordsOf(text));
      const document: Fingerprinted = {
        redacted: true,
        reason: 'not_json',
        sha256: createHash('sha256').update(value).digest('hex'),
        bytes: value.length,
      };
      return [Buffer.from(JSON.stringify(document)), 'fingerprint'];
    }
    // Re-serialised even when nothing was replaced: the original bytes may hold what parsing
    // dropped (a repeated member: `{"token": "raw", "token": "x"}`).
    const redacted = redactJson(parsed.value);
    this.scrubber.add(...redacted.replaced);
    return [Buffer.from(JSON.stringify(redacted.value)), 'json'];
  }

  /** The bytes, when they are short UTF-8 text that cannot hold a credential; else a fingerprint. */
  private redactBytes(bytes: Buffer, maxLength: number, opaqueIsSecret: boolean): Buffer {
    const text = bytes.toString('utf8');
    const kept =
      isUtf8(bytes) &&
      bytes.length <= maxLength &&
      !containsJose(text) &&
      !(opaqueIsSecret && containsOpaqueSecret(text)) &&
      !this.scrubber.overlapsKnown(text);
    return kept ? bytes : this.replace(bytes);
  }

  private replace(bytes: Buffer): Buffer {
    this.scrubber.add(bytes.toString('utf8'));
    return Buffer.from(fingerprint(bytes));
  }
}

/** A header name that reads like one (RFC 9110 token characters, not too long, not random). */
function nameMayStay(name: string): boolean {
  return (
    /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(name) &&
    !containsOpaqueSecret(name) &&
    !containsJose(name)
  );
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/**
 * The dead letter of `record` (DeadLetterHeaders in the contracts): its key, value and headers
 * redacted ({@link RedactedRecord}), plus the reason (the stable code of what the error means,
 * `internal_error` for a bug), the scrubbed error message, and where it came from. The record
 * itself stays on its input topic; the headers say where.
 */
export function deadLetterOf(
  record: FailedRecord,
  error: unknown,
  failedAt: Date,
  redacted: RedactedRecord = new RedactedRecord(record),
): Message {
  const reason = classifyFailure(error).error?.code ?? 'internal_error';
  const detail = redacted.scrub(error instanceof Error ? error.message : String(error));
  return {
    key: redacted.key,
    value: redacted.value,
    headers: {
      ...redacted.headers,
      [DeadLetterHeaders.reason]: reason,
      [DeadLetterHeaders.detail]: detail.slice(0, 2000),
      [DeadLetterHeaders.topic]: record.topic,
      [DeadLetterHeaders.partition]: String(record.partition),
      [DeadLetterHeaders.offset]: record.offset,
      [DeadLetterHeaders.failedAt]: failedAt.toISOString(),
      ...(redacted.valueKind === null ? {} : { [DeadLetterHeaders.value]: redacted.valueKind }),
    },
  };
}
