import { Freshness, type FreshnessClock } from './freshness';

/** A clock the test moves by hand: wall and monotonic time, independently when it must. */
class TestClock implements FreshnessClock {
  constructor(
    public wall = 1_000_000,
    public monotonic = 0,
  ) {}
  wallMs(): number {
    return this.wall;
  }
  monotonicMs(): number {
    return this.monotonic;
  }
  advance(ms: number): void {
    this.wall += ms;
    this.monotonic += ms;
  }
}

const beat = (at: number, publishedThrough = at, seq = 1, pending = 0) => ({
  at,
  publishedThrough,
  seq,
  pending,
});

describe(Freshness.name, () => {
  it('is stale until ready, and after ready until every partition has a heartbeat (no grace period)', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.heartbeat(0, beat(clock.wall));
    expect(freshness.isStale()).toBe(true); // not ready
    freshness.markReady([0, 1]);
    expect(freshness.isStale()).toBe(true); // partition 1 has no proof
    expect(freshness.stalenessMs()).toBeNull();
    freshness.heartbeat(1, beat(clock.wall));
    expect(freshness.isStale()).toBe(false);
    clock.advance(5000);
    expect(freshness.isStale()).toBe(false);
    clock.advance(1);
    expect(freshness.isStale()).toBe(true);
  });

  it("measures a heartbeat's age from its own time `at`, so an old one read late proves nothing", () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([0]);
    // Read now, sent a minute ago (a restart reading the compacted topic).
    freshness.heartbeat(0, beat(clock.wall - 60_000));
    expect(freshness.isStale()).toBe(true);
    expect(freshness.stalenessMs()).toBe(60_000);
    expect(freshness.partitions()[0]!.heartbeatAgeMs).toBe(60_000);
  });

  it('is stale while heartbeats say acknowledged revocations older than the bound are unpublished', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([0]);
    const stuckSince = clock.wall;
    // Heartbeats keep coming every second, but publishing is stuck at `stuckSince`.
    for (let i = 1; i <= 5; i++) {
      clock.advance(1000);
      freshness.heartbeat(0, beat(clock.wall, stuckSince, 10, 3));
      expect(freshness.isStale()).toBe(false);
    }
    clock.advance(1000);
    freshness.heartbeat(0, beat(clock.wall, stuckSince, 10, 3));
    expect(freshness.isStale()).toBe(true);
    expect(freshness.stalenessMs()).toBe(6000);
    expect(freshness.partitions()[0]).toEqual({
      partition: 0,
      heartbeatAgeMs: 0,
      publishLagMs: 6000,
      heartbeatSeq: 10,
      stalenessMs: 6000,
    });
    // Published: the next heartbeat's claim catches up.
    freshness.heartbeat(0, beat(clock.wall, clock.wall - 10, 11, 0));
    expect(freshness.isStale()).toBe(false);
  });

  it('turns stale when one partition falls silent, and fresh again when it speaks', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([0, 1]);
    freshness.heartbeat(0, beat(clock.wall, clock.wall, 10));
    freshness.heartbeat(1, beat(clock.wall, clock.wall, 10));
    clock.advance(4000);
    freshness.heartbeat(0, beat(clock.wall, clock.wall, 11));
    clock.advance(1001);
    expect(freshness.isStale()).toBe(true);
    expect(freshness.stalenessMs()).toBe(5001);
    freshness.heartbeat(1, beat(clock.wall, clock.wall, 11));
    expect(freshness.isStale()).toBe(false);
    expect(freshness.latestAnnouncedSeq).toBe(11);
  });

  it('keeps the youngest proof per partition when several writers beat (a later record may claim less)', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([0]);
    freshness.heartbeat(0, beat(clock.wall, clock.wall - 100));
    freshness.heartbeat(0, beat(clock.wall - 3000, clock.wall - 3000)); // a slower writer's
    expect(freshness.stalenessMs()).toBe(100);
  });

  it('reports the latest heartbeat (still coming?) while judging by the best proof', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([0]);
    freshness.heartbeat(0, beat(clock.wall));
    clock.advance(1000);
    // Publishing stopped before the previous heartbeat's claim: this one proves less.
    freshness.heartbeat(0, beat(clock.wall, clock.wall - 3000, 1, 2));
    expect(freshness.partitions()[0]).toMatchObject({
      heartbeatAgeMs: 0,
      publishLagMs: 3000,
      stalenessMs: 1000,
    });
    expect(freshness.stalenessMs()).toBe(1000);
  });

  describe('clock skew', () => {
    it('this host ahead of the writer: proofs look older, the list turns stale sooner (safe)', () => {
      const clock = new TestClock();
      const freshness = new Freshness(5000, clock);
      freshness.markReady([0]);
      freshness.heartbeat(0, beat(clock.wall - 4000)); // the writer's clock runs 4 s behind
      clock.advance(1001);
      expect(freshness.isStale()).toBe(true);
    });

    it('this host behind the writer: a heartbeat still ages by the time since it was read', () => {
      const clock = new TestClock();
      const freshness = new Freshness(5000, clock);
      freshness.markReady([0]);
      freshness.heartbeat(0, beat(clock.wall + 60_000)); // "from the future"
      expect(freshness.writerClockAheadMs).toBe(60_000);
      expect(freshness.isStale()).toBe(false);
      clock.advance(5001);
      expect(freshness.isStale()).toBe(true);
      expect(freshness.partitions()[0]!.heartbeatAgeMs).toBe(5001);
    });

    it('a wall clock stepped back cannot keep a silent writer fresh', () => {
      const clock = new TestClock();
      const freshness = new Freshness(5000, clock);
      freshness.markReady([0]);
      freshness.heartbeat(0, beat(clock.wall));
      clock.monotonic += 6000;
      clock.wall -= 3_600_000; // NTP steps the clock back an hour while 6 s pass
      expect(freshness.isStale()).toBe(true);
    });
  });

  it('reports every required partition, with nulls where no heartbeat was read', () => {
    const clock = new TestClock();
    const freshness = new Freshness(5000, clock);
    freshness.markReady([1, 0]);
    freshness.heartbeat(1, beat(clock.wall - 100, clock.wall - 150, 3));
    clock.advance(100);
    expect(freshness.partitions()).toEqual([
      {
        partition: 0,
        heartbeatAgeMs: null,
        publishLagMs: null,
        heartbeatSeq: null,
        stalenessMs: null,
      },
      { partition: 1, heartbeatAgeMs: 200, publishLagMs: 50, heartbeatSeq: 3, stalenessMs: 250 },
    ]);
  });
});
