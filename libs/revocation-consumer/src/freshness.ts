/**
 * How stale an enforcement point may be, and what it does then.
 * - `fail-closed`: deny every request while stale (`reason: 'stale'`). The safe default.
 * - `fail-open`: allow what the list does not revoke, and count every such decision.
 * - `keep-last`: keep answering from the last known list (decisions are flagged stale).
 * A revoked token is denied under every policy.
 *
 * @example
 * createRevocationConsumer({ brokers, stalenessPolicy: 'keep-last', maxStalenessMs: 30_000 });
 */
export type StalenessPolicy = 'fail-closed' | 'fail-open' | 'keep-last';

/**
 * Tracks, per partition, when the last heartbeat arrived (local clock: no skew between hosts)
 * and the `seq` it carried. Stale = not yet caught up, or some partition silent for longer
 * than `maxStalenessMs`. Plain class; the consumer feeds it and asks it on a timer.
 */
export class Freshness {
  private readonly lastHeartbeat = new Map<number, number>();
  private readonly heartbeatSeq = new Map<number, number>();
  private readySince: number | null = null;

  constructor(private readonly maxStalenessMs: number) {}

  /** Caught up with the topic: start judging heartbeat ages from now (grace for the first). */
  markReady(nowMs: number, partitions: readonly number[]): void {
    this.readySince = nowMs;
    for (const partition of partitions) {
      if (!this.lastHeartbeat.has(partition)) {
        this.lastHeartbeat.set(partition, nowMs);
      }
    }
  }

  heartbeat(partition: number, seq: number, nowMs: number): void {
    this.lastHeartbeat.set(partition, nowMs);
    this.heartbeatSeq.set(partition, Math.max(seq, this.heartbeatSeq.get(partition) ?? 0));
  }

  get ready(): boolean {
    return this.readySince !== null;
  }

  /** Age of the oldest partition's last heartbeat (ms), or null before ready. */
  oldestHeartbeatAgeMs(nowMs: number): number | null {
    if (this.readySince === null) {
      return null;
    }
    let oldest = nowMs;
    for (const at of this.lastHeartbeat.values()) {
      oldest = Math.min(oldest, at);
    }
    return nowMs - oldest;
  }

  isStale(nowMs: number): boolean {
    const age = this.oldestHeartbeatAgeMs(nowMs);
    return age === null || age > this.maxStalenessMs;
  }

  /** Per partition: heartbeat age (ms) and the seq the writer had committed. */
  partitions(
    nowMs: number,
  ): Array<{ partition: number; heartbeatAgeMs: number; heartbeatSeq: number | null }> {
    return [...this.lastHeartbeat.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partition, at]) => ({
        partition,
        heartbeatAgeMs: nowMs - at,
        heartbeatSeq: this.heartbeatSeq.get(partition) ?? null,
      }));
  }

  /** Highest seq any heartbeat announced: the writer's latest committed change. */
  get latestAnnouncedSeq(): number {
    let max = 0;
    for (const seq of this.heartbeatSeq.values()) {
      max = Math.max(max, seq);
    }
    return max;
  }
}
