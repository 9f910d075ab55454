import { createHash } from 'node:crypto';
import type { RuleSetEventV1 } from '@rescind/contracts';
import { type DenyList, isExpired, type RuleVersion } from '@rescind/rules';
import type { z } from 'zod';
import { identityOfKey } from './tombstone';

/**
 * Where an unreadable rule was met: a line of the writer's snapshot, or a message on the
 * invalidation topic.
 *
 * @example
 * const source: UnreadableSource = consumer.status().unreadableRules.last?.source ?? 'stream';
 */
export type UnreadableSource = 'snapshot' | 'stream';

/**
 * The last rule line or message the consumer could not read and skipped. Identifies it without
 * revealing it: a line may carry anything, so neither the line nor parts of its values are kept.
 *
 * @example
 * const last = consumer.status().unreadableRules.last;
 * if (last) log.warn({ key: last.key, sha256: last.sha256, reason: last.reason }, 'unreadable rule');
 */
export interface UnreadableRule {
  /** When it was skipped (ms). */
  at: number;
  source: UnreadableSource;
  /** `snapshot line 12`, or `<topic>/<partition>@<offset>`. */
  location: string;
  /** What is wrong with it: the first schema violation (`rule.claim: …`), or `not JSON`. */
  reason: string;
  /**
   * Its rule key, when the line names one as a string (from the envelope's `key`, or on the
   * topic from the record key); cut to 200 characters. Keys are not secrets. Null otherwise.
   */
  key: string | null;
  /** SHA-256 (hex) of the whole line or message value: tells copies of one line from others. */
  sha256: string;
  /**
   * The `seq` of the older, readable version of this key that the list holds and keeps
   * enforcing instead, or null when it holds none (the rule is then not enforced here).
   */
  keptSeq: number | null;
}

/**
 * What `status().unreadableRules` reports: rule lines and messages skipped because they could
 * not be read, since the consumer started. A snapshot's are counted once it was accepted.
 *
 * @example
 * const { count, bySource, last } = consumer.status().unreadableRules;
 */
export interface UnreadableRulesStatus {
  count: number;
  bySource: Record<UnreadableSource, number>;
  /** The most recent one, or null before the first. */
  last: UnreadableRule | null;
}

/** What the parsing side knows of a skipped line, before the consumer looks at its list. */
export interface UnreadableLine {
  reason: string;
  /** The whole key (shortened only when reported), or null. */
  key: string | null;
  sha256: string;
}

/** Name of the OpenTelemetry counter, attribute `source` (`snapshot` or `stream`). */
export const UNREADABLE_RULES_METRIC = 'rescind.consumer.unreadable_rules';

const KEY_SHOWN = 200;
const REASON_MAX = 300;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Identifies a line that could not be read. `json` is the parsed line, if it was JSON; the key
 * comes from its envelope, else from the Kafka record key (when that is valid UTF-8).
 */
export function unreadableLine(
  raw: string | Buffer,
  json: unknown,
  reason: string,
  recordKey: Buffer | null = null,
): UnreadableLine {
  return {
    reason: reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX)}…` : reason,
    key: envelopeKey(json) ?? decodedKey(recordKey),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

/**
 * The first schema violation, as `path: message`. Zod's messages name what was expected, never
 * the value received, so no part of the line gets into logs this way.
 */
export function issueReason(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) {
    return 'invalid';
  }
  return issue.path.length > 0
    ? `${issue.path.map(String).join('.')}: ${issue.message}`
    : issue.message;
}

/** `key "sub::alice"` or `sha256 3f1c…`, for log lines. */
export function identify(line: { key: string | null; sha256: string }): string {
  return line.key === null
    ? `sha256 ${line.sha256}`
    : `key ${JSON.stringify(shownKey(line.key))}, sha256 ${line.sha256.slice(0, 16)}`;
}

function shownKey(key: string): string {
  return key.length > KEY_SHOWN ? `${key.slice(0, KEY_SHOWN)}…` : key;
}

function envelopeKey(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) {
    return null;
  }
  const key = (json as { key?: unknown }).key;
  return typeof key === 'string' && key.length > 0 ? key : null;
}

function decodedKey(key: Buffer | null): string | null {
  if (key === null || key.length === 0) {
    return null;
  }
  try {
    return utf8.decode(key);
  } catch {
    return null;
  }
}

/**
 * The live version of `key` that `list` holds, if any: what the consumer keeps enforcing when an
 * update of that key cannot be read. A revocation is never dropped because its update was
 * unreadable; a removal marker or an expired version revokes nothing, so there is none to keep.
 */
export function heldRevocation(
  list: DenyList,
  key: string | null,
  nowMs: number,
): RuleVersion | undefined {
  const identity = key === null ? undefined : identityOfKey(key);
  if (identity === undefined) {
    return undefined;
  }
  const held = list.get(identity.claim, identity.value, identity.iss);
  if (held === undefined || held.removed || isExpired(held.expiresAt, nowMs)) {
    return undefined;
  }
  return held;
}

/** The event that puts a live `version` into another list as it is (same key, `seq`, rule). */
export function keptEvent(version: RuleVersion, committedAt: number): RuleSetEventV1 {
  return {
    v: 1,
    type: 'rule.set',
    key: version.key,
    seq: version.seq,
    revocationId: version.revocationId,
    committedAt,
    rule: {
      claim: version.claim,
      value: version.value,
      iss: version.iss,
      revokedBefore: version.revokedBefore,
      ...(version.cutoff === 'auth_time' ? { cutoff: 'auth_time' as const } : {}),
      expiresAt: version.expiresAt,
    },
  };
}

/** Counts of skipped lines by source, and the last one. */
export class UnreadableRules {
  private readonly counts: Record<UnreadableSource, number> = { snapshot: 0, stream: 0 };
  private last: UnreadableRule | null = null;

  /** Counts `count` skipped lines of `source`, `last` being the latest of them. */
  record(
    source: UnreadableSource,
    count: number,
    last: UnreadableLine & { at: number; location: string; keptSeq: number | null },
  ): void {
    this.counts[source] += count;
    this.last = {
      at: last.at,
      source,
      location: last.location,
      reason: last.reason,
      key: last.key === null ? null : shownKey(last.key),
      sha256: last.sha256,
      keptSeq: last.keptSeq,
    };
  }

  bySource(): Readonly<Record<UnreadableSource, number>> {
    return this.counts;
  }

  status(): UnreadableRulesStatus {
    return {
      count: this.counts.snapshot + this.counts.stream,
      bySource: { ...this.counts },
      last: this.last === null ? null : { ...this.last },
    };
  }
}
