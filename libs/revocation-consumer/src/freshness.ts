import type { HeartbeatV1 } from '@rescind/contracts';

/**
 * How stale an enforcement point may be, and what it does then.
 * - `fail-closed`: deny every request while stale (`reason: 'stale'`, or `'not-ready'` before
 *   the list has caught up with the topic). The safe default.
 * - `fail-open`: allow what the list does not revoke (`reason: 'stale-allowed'`), even before
 *   any list was loaded, and count every such decision.
 * - `keep-last`: serve the last list that was loaded (a snapshot, the saved list, or the topic)
 *   while stale (`'stale-allowed'`), but deny (`'not-ready'`) while none was ever loaded: an
 *   empty list is not a "last known" one.
 * A revoked token is denied under every policy.
 *
 * @example
 * createRevocationConsumer({ brokers, stalenessPolicy: 'keep-last', maxStalenessMs: 30_000 });
 */
export type StalenessPolicy = 'fail-closed' | 'fail-open' | 'keep-last';

/**
 * The clocks freshness is judged by: the wall clock, compared with the writer's `at`, and a
 * monotonic one for time elapsed on this host (which no clock step moves).
 *
 * @example
 * const clock: FreshnessClock = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };
 */
export interface FreshnessClock {
  wallMs(): number;
  monotonicMs(): number;
}

const systemClock: FreshnessClock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** A heartbeat read on a partition, and when it was read. */
interface Evidence {
  at: number;
  publishedThrough: number;
  seq: number;
  pending: number;
  receivedWall: number;
  receivedMonotonic: number;
}

/** Per partition, what {@link Freshness.partitions} reports. */
export interface PartitionFreshness {
  partition: number;
  /** Age of the latest heartbeat read (ms, from its own `at`), or null when none was read. */
  heartbeatAgeMs: number | null;
  /** How far the writer's publishing lagged when it sent it (`at - publishedThrough`, ms). */
  publishLagMs: number | null;
  /** The writer's highest committed `seq` it announced. */
  heartbeatSeq: number | null;
  /** Age of the best proof on this partition (ms; see `Freshness.stalenessMs`), or null. */
  stalenessMs: number | null;
}

/**
 * Is the deny-list fresh? Fresh means proven: for every partition, a heartbeat read there says
 * that everything the writer acknowledged before its `publishedThrough` was on the partition
 * ahead of it, so it has been applied. The list is stale while, on some partition, that proof is
 * older than `maxStalenessMs`: a revocation acknowledged that long ago may not be applied yet. So
 * a silent writer, a cut-off consumer and a stuck outbox (heartbeats go on, `publishedThrough`
 * stops moving) all turn it stale; a partition without any heartbeat is stale; and there is no
 * grace period: a restarted enforcement point is stale until a heartbeat proves otherwise.
 *
 * Clocks: a proof's age is `now - publishedThrough`, the writer's time against this host's, so
 * an old heartbeat read late (after a restart, or from the compacted topic) counts as old. Clock
 * skew enters that directly; both directions are bounded:
 * - this host ahead of the writer: proofs look older than they are, so the list turns stale
 *   early (safe; a skew beyond the bound keeps it stale, and the operator sees why);
 * - this host behind: proofs look younger. The age is never taken below
 *   `at - publishedThrough` plus the time since the heartbeat was read (monotonic clock), so
 *   heartbeats that stop still age here and a clock stepped back cannot keep the list fresh; what
 *   skew can hide is at most its own size, once, for a heartbeat read late.
 * Keep hosts on NTP; {@link Freshness.writerClockAheadMs} shows a writer clock that runs ahead.
 *
 * Plain class; the consumer feeds it and asks it on a timer.
 *
 * @example
 * const freshness = new Freshness(5000);
 * freshness.markReady([0, 1]);
 * freshness.heartbeat(0, heartbeat);
 * freshness.isStale(); // true until partition 1 has a heartbeat too
 */
export class Freshness {
  /** Per partition, the youngest proof: what freshness is judged by. */
  private readonly best = new Map<number, Evidence>();
  /** Per partition, the heartbeat read last: what is reported (are heartbeats still coming?). */
  private readonly latest = new Map<number, Evidence>();
  private readonly required = new Set<number>();
  private isReady = false;

  constructor(
    private readonly maxStalenessMs: number,
    private readonly clock: FreshnessClock = systemClock,
  ) {}

  /** Caught up with the topic: from now on every partition in `partitions` needs a proof. */
  markReady(partitions: readonly number[]): void {
    this.isReady = true;
    for (const partition of partitions) {
      this.required.add(partition);
    }
  }

  get ready(): boolean {
    return this.isReady;
  }

  /**
   * A heartbeat was read on `partition`. Every heartbeat read there is behind the consumer's
   * position, so each one's claim holds; the youngest proof is kept (with several writers, a
   * later record can carry an older claim).
   */
  heartbeat(
    partition: number,
    heartbeat: Pick<HeartbeatV1, 'at' | 'publishedThrough' | 'seq' | 'pending'>,
  ): void {
    const wall = this.clock.wallMs();
    const monotonic = this.clock.monotonicMs();
    const candidate: Evidence = {
      at: heartbeat.at,
      publishedThrough: heartbeat.publishedThrough,
      seq: heartbeat.seq,
      pending: heartbeat.pending,
      receivedWall: wall,
      receivedMonotonic: monotonic,
    };
    this.latest.set(partition, candidate);
    const current = this.best.get(partition);
    if (
      current === undefined ||
      ageOf(candidate, wall, monotonic) <= ageOf(current, wall, monotonic)
    ) {
      this.best.set(partition, candidate);
    }
  }

  /**
   * How old the oldest proof is (ms): a revocation acknowledged before that long ago is applied
   * on every partition. Null before ready or while a partition has no heartbeat.
   */
  stalenessMs(): number | null {
    if (!this.isReady) {
      return null;
    }
    const wall = this.clock.wallMs();
    const monotonic = this.clock.monotonicMs();
    let oldest = 0;
    for (const partition of this.partitionIds()) {
      const evidence = this.best.get(partition);
      if (evidence === undefined) {
        return null;
      }
      oldest = Math.max(oldest, ageOf(evidence, wall, monotonic));
    }
    return oldest;
  }

  isStale(): boolean {
    const staleness = this.stalenessMs();
    return staleness === null || staleness > this.maxStalenessMs;
  }

  /** Per partition (every required one, and any that sent a heartbeat): what is known. */
  partitions(): PartitionFreshness[] {
    const wall = this.clock.wallMs();
    const monotonic = this.clock.monotonicMs();
    return this.partitionIds()
      .sort((a, b) => a - b)
      .map((partition) => {
        const e = this.latest.get(partition);
        const proof = this.best.get(partition);
        return {
          partition,
          heartbeatAgeMs: e === undefined ? null : heartbeatAgeOf(e, wall, monotonic),
          publishLagMs: e === undefined ? null : e.at - e.publishedThrough,
          heartbeatSeq: e?.seq ?? null,
          stalenessMs: proof === undefined ? null : ageOf(proof, wall, monotonic),
        };
      });
  }

  /** Highest `seq` any heartbeat announced: the writer's latest committed change it knew of. */
  get latestAnnouncedSeq(): number {
    let max = 0;
    for (const { seq } of this.latest.values()) {
      max = Math.max(max, seq);
    }
    return max;
  }

  /**
   * At least how far the writer's clock is ahead of this host's (ms; 0 when no heartbeat was
   * read "from the future"). A heartbeat cannot be read before it was sent, so `at` later than
   * the time it was read is skew, by at least the difference.
   */
  get writerClockAheadMs(): number {
    let ahead = 0;
    for (const e of this.latest.values()) {
      ahead = Math.max(ahead, e.at - e.receivedWall);
    }
    return ahead;
  }

  private partitionIds(): number[] {
    return [...new Set([...this.required, ...this.latest.keys()])];
  }
}

/** Age of the heartbeat itself: from its `at`, and never less than the time since it was read. */
function heartbeatAgeOf(e: Evidence, wall: number, monotonic: number): number {
  return Math.max(0, wall - e.at, monotonic - e.receivedMonotonic);
}

/** Age of the proof: the heartbeat's age plus how far publishing lagged when it was sent. */
function ageOf(e: Evidence, wall: number, monotonic: number): number {
  return heartbeatAgeOf(e, wall, monotonic) + (e.at - e.publishedThrough);
}
