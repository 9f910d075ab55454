import { context, type Histogram, propagation, trace } from '@opentelemetry/api';
import { type HeartbeatV1, InvalidationMessageV1Schema } from '@rescind/contracts';
import type { DenyList, RuleVersion } from '@rescind/rules';
import type { RuleAppliedEvent } from './events';
import type { Freshness } from './freshness';
import type { ConsumerLogger } from './options';
import { identityOfKey, tombstoneOutcome } from './tombstone';
import {
  heldRevocation,
  identify,
  issueReason,
  type UnreadableLine,
  unreadableLine,
  type UnreadableRules,
} from './unreadable-rules';

const tracer = trace.getTracer('rescind-revocation-consumer');

/** Where the applier reports what it did. */
export interface MessageApplierOutlets {
  /** A rule version changed the list. */
  rule(event: RuleAppliedEvent): void;
  /** A message could not be read and was skipped. */
  invalid(event: { partition: number; offset: string; reason: string }): void;
  /** A heartbeat was read: freshness may have changed. */
  heartbeat(): void;
}

/**
 * Applies what the invalidation topic carries to the list: rule events (traced, with their
 * propagation latency), the writer's heartbeats (to `Freshness`), and tombstones; a message it
 * cannot read is skipped and counted. Keeps the counts `status()` reports.
 */
export class MessageApplier {
  readonly tombstones = { removed: 0, ignored: 0 };
  invalidMessages = 0;
  /** When the last rule change was applied (ms), or null. */
  lastAppliedAt: number | null = null;
  /** Warned about a writer clock ahead of ours (once per consumer). */
  private skewWarned = false;

  constructor(
    /** The list is replaced at start-up (by a snapshot or the saved list): always read anew. */
    private readonly list: () => DenyList,
    private readonly topic: string,
    private readonly freshness: Freshness,
    private readonly unreadable: UnreadableRules,
    private readonly latency: Histogram,
    private readonly logger: ConsumerLogger,
    private readonly outlets: MessageApplierOutlets,
  ) {}

  apply(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Record<string, unknown> | undefined,
  ): void {
    if (value === null) {
      return this.applyTombstone(partition, offset, key);
    }
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch {
      // Not the parser's message: it quotes the value.
      return this.skip(partition, offset, unreadableLine(value, undefined, 'not JSON', key));
    }
    const parsed = InvalidationMessageV1Schema.safeParse(json);
    if (!parsed.success) {
      return this.skip(
        partition,
        offset,
        unreadableLine(value, json, issueReason(parsed.error), key),
      );
    }
    const message = parsed.data;
    if (message.type === 'heartbeat') {
      return this.applyHeartbeat(partition, message);
    }
    const carrier: Record<string, string> = {};
    for (const [name, header] of Object.entries(headers ?? {})) {
      if (Buffer.isBuffer(header) || typeof header === 'string') {
        carrier[name] = header.toString();
      }
    }
    const parent = propagation.extract(context.active(), carrier);
    const span = tracer.startSpan(
      'rescind.consumer.apply',
      { attributes: { 'rescind.seq': message.seq } },
      parent,
    );
    const applied = this.list().apply(message);
    span.setAttribute('rescind.applied', applied !== undefined);
    span.end();
    if (applied) {
      const now = Date.now();
      this.lastAppliedAt = now;
      const latencyMs = now - message.committedAt;
      this.latency.record(latencyMs / 1000);
      this.outlets.rule({ rule: applied, latencyMs });
    }
  }

  private applyHeartbeat(partition: number, heartbeat: HeartbeatV1): void {
    this.freshness.heartbeat(partition, heartbeat);
    const ahead = heartbeat.at - Date.now();
    if (ahead > 1000 && !this.skewWarned) {
      this.skewWarned = true;
      this.logger.warn(
        `the writer's clock is at least ${ahead} ms ahead of this host's: heartbeats look that much ` +
          'younger than they are; synchronise the clocks (NTP)',
      );
    }
    this.outlets.heartbeat();
  }

  /**
   * A tombstone: the writer pruned the rule of this key (it expired). It carries no `seq`, so it
   * removes the version held only if that has expired by this host's clock too (see
   * `tombstoneOutcome`); otherwise it is ignored and counted.
   */
  private applyTombstone(partition: number, offset: string, key: Buffer | null): void {
    const identity = key === null ? undefined : identityOfKey(key.toString('utf8'));
    if (identity === undefined) {
      return this.skip(
        partition,
        offset,
        // No value to fingerprint: the key's bytes are what tells one such tombstone from another.
        unreadableLine(key ?? Buffer.alloc(0), undefined, 'tombstone without a rule key', key),
      );
    }
    const now = Date.now();
    const list = this.list();
    const outcome = tombstoneOutcome(list.get(identity.claim, identity.value, identity.iss), now);
    switch (outcome) {
      case 'removed':
        // Drops exactly the versions expired by now, this one among them.
        list.pruneExpired(now);
        this.tombstones.removed += 1;
        return;
      case 'ignored':
        this.tombstones.ignored += 1;
        this.logger.warn(
          `ignored the tombstone ${this.topic}/${partition}@${offset}: the version held has not expired by this host's clock`,
        );
        return;
      case 'absent':
        return;
    }
  }

  /**
   * A message that cannot be read: skipped, counted, and an older readable version of its key
   * kept (it simply stays in the list: a revocation is never dropped because its update was
   * unreadable).
   */
  private skip(partition: number, offset: string, line: UnreadableLine): void {
    this.invalidMessages += 1;
    const now = Date.now();
    const location = `${this.topic}/${partition}@${offset}`;
    const kept = heldRevocation(this.list(), line.key, now);
    this.unreadable.record('stream', 1, { ...line, at: now, location, keptSeq: kept?.seq ?? null });
    this.logger.warn(
      `skipped unreadable message ${location} (${identify(line)}): ${line.reason}; ${keptNote(line, kept)}`,
    );
    this.outlets.invalid({ partition, offset, reason: line.reason });
  }
}

/** What a skipped line leaves enforced of its key, for the warning. */
export function keptNote(line: UnreadableLine, kept: RuleVersion | undefined): string {
  if (kept) {
    return `kept the older version of its key (seq ${kept.seq})`;
  }
  return line.key === null ? 'its key cannot be read' : 'no older version of its key is held';
}
