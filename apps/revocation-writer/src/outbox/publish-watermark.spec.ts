import { PublishWatermark } from './publish-watermark';

const progress = (pending: number, oldestPendingAgeMs: number | null = null, seq = 7) => ({
  pending,
  oldestPendingAgeMs,
  seq,
});

describe(PublishWatermark.name, () => {
  it('claims nothing before PostgreSQL ever answered', () => {
    const watermark = new PublishWatermark();
    expect(watermark.claim(1000, false)).toBeNull();
  });

  it('claims up to the read while nothing is pending, and up to the oldest pending row otherwise', () => {
    const watermark = new PublishWatermark();
    watermark.observed(1000, progress(0));
    expect(watermark.claim(1010, true)).toEqual({ publishedThrough: 1000, pending: 0, seq: 7 });
    watermark.observed(2000, progress(3, 1500));
    expect(watermark.claim(2010, true)).toEqual({ publishedThrough: 500, pending: 3, seq: 7 });
  });

  describe('while PostgreSQL does not answer', () => {
    it('moves on with the clock when nothing was pending and no commit was notified since the read', () => {
      const watermark = new PublishWatermark();
      watermark.listenerConnected(true);
      watermark.notified(900);
      watermark.observed(1000, progress(0));
      watermark.listenerConnected(false); // the outage takes the LISTEN session down too
      expect(watermark.claim(60_000, false)).toEqual({
        publishedThrough: 60_000,
        pending: 0,
        seq: 7,
      });
    });

    it('stays where the last read left it when something acknowledged was pending', () => {
      const watermark = new PublishWatermark();
      watermark.listenerConnected(true);
      watermark.observed(1000, progress(2, 300));
      expect(watermark.claim(60_000, false)?.publishedThrough).toBe(700);
    });

    it('stays at the last read when a commit was notified after it began', () => {
      const watermark = new PublishWatermark();
      watermark.listenerConnected(true);
      watermark.observed(1000, progress(0));
      watermark.notified(1000);
      expect(watermark.claim(60_000, false)?.publishedThrough).toBe(1000);
    });

    it('stays at the last read when the LISTEN session was not connected during it (commits unseen)', () => {
      const watermark = new PublishWatermark();
      watermark.observed(1000, progress(0));
      expect(watermark.claim(60_000, false)?.publishedThrough).toBe(1000);
    });
  });
});
