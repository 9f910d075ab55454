import type { CheckDecision } from './decision';
import type { StalenessPolicy } from './freshness';
import type { UnreadableRulesStatus } from './unreadable-rules';

/**
 * What {@link RevocationConsumer.status} reports.
 *
 * @example
 * const { ready, stale, rules, lastSeq } = consumer.status();
 */
export interface ConsumerStatus {
  /** Snapshot loaded (if configured), joined, and caught up with the topic as it was at start. */
  ready: boolean;
  /**
   * Not ready, or no heartbeat proves that every revocation acknowledged longer ago than
   * `maxStalenessMs` is applied (see `stalenessMs`): the staleness policy applies.
   */
  stale: boolean;
  policy: StalenessPolicy;
  /**
   * At most how long ago (ms) a revocation was acknowledged that this list may still miss: the
   * oldest partition's proof. Null before ready, or while a partition has had no heartbeat.
   */
  stalenessMs: number | null;
  /** Rules that currently revoke something. */
  rules: number;
  /** Highest `seq` applied. */
  lastSeq: number;
  /**
   * Highest committed `seq` the writer announced in a heartbeat. Diagnostic only: `lastSeq` may
   * stay below it for good (tombstones carry no `seq`), so freshness is judged by `stalenessMs`.
   */
  writerSeq: number;
  /** At least how far the writer's clock runs ahead of this host's (ms), from heartbeats. */
  writerClockAheadMs: number;
  /** When the last rule change was applied (ms), or null. */
  lastAppliedAt: number | null;
  /**
   * Per partition: messages not yet consumed; the age of the latest heartbeat (from the writer's
   * `at`; null before the first) and how far publishing lagged when it was sent; and the age of
   * the partition's best proof (its share of `stalenessMs`).
   */
  partitions: Array<{
    partition: number;
    lag: number | null;
    heartbeatAgeMs: number | null;
    publishLagMs: number | null;
    heartbeatSeq: number | null;
    stalenessMs: number | null;
  }>;
  /**
   * Tombstones (pruned rules) that removed the version held, and those ignored because the
   * version held had not expired by this host's clock (a clock behind the writer's).
   */
  tombstones: { removed: number; ignored: number };
  /** Decisions so far by reason. */
  decisions: Record<CheckDecision['reason'], number>;
  /** Messages on the topic that were not valid invalidation messages and were skipped. */
  invalidMessages: number;
  /**
   * Rule lines of the snapshot and messages of the topic that could not be read and were
   * skipped (the consumer still becomes ready), with the last one: when, where, why, and its key
   * or fingerprint. An older readable version of its key, if held, is kept (`last.keptSeq`).
   * Also the `rescind.consumer.unreadable_rules{source}` counter; alert on it.
   */
  unreadableRules: UnreadableRulesStatus;
  lastError: string | null;
  /** The on-disk copy (`persistPath`), or null without one. */
  persistence: {
    path: string;
    /** When the last save completed (ms), or null before the first. */
    lastSavedAt: number | null;
    /** Rule versions (removal markers included) in the last save. */
    lastSavedRules: number | null;
    /** Why the last save failed, or null when it succeeded. */
    lastError: string | null;
  } | null;
}
