import { Freshness } from './freshness';

describe(Freshness.name, () => {
  it('is stale until ready, then fresh while every partition hears heartbeats', () => {
    const freshness = new Freshness(5000);
    expect(freshness.isStale(0)).toBe(true);
    freshness.markReady(1000, [0, 1]);
    expect(freshness.isStale(1000)).toBe(false);
    expect(freshness.isStale(6000)).toBe(false);
    expect(freshness.isStale(6001)).toBe(true);
  });

  it('turns stale when one partition falls silent, and fresh again when it speaks', () => {
    const freshness = new Freshness(5000);
    freshness.markReady(0, [0, 1]);
    freshness.heartbeat(0, 10, 4000);
    freshness.heartbeat(1, 10, 4000);
    freshness.heartbeat(0, 11, 8000);
    expect(freshness.isStale(9001)).toBe(true);
    expect(freshness.oldestHeartbeatAgeMs(9001)).toBe(5001);
    freshness.heartbeat(1, 11, 9002);
    expect(freshness.isStale(9002)).toBe(false);
    expect(freshness.latestAnnouncedSeq).toBe(11);
  });

  it('reports each partition', () => {
    const freshness = new Freshness(5000);
    freshness.markReady(0, [1, 0]);
    freshness.heartbeat(1, 3, 100);
    expect(freshness.partitions(200)).toEqual([
      { partition: 0, heartbeatAgeMs: 200, heartbeatSeq: null },
      { partition: 1, heartbeatAgeMs: 100, heartbeatSeq: 3 },
    ]);
  });
});
