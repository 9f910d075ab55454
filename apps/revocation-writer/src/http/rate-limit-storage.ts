import type { ThrottlerStorage } from '@nestjs/throttler';

/** What a limit counts for one key: hits in the current window and in the one before it. */
interface Window {
  startedAt: number;
  current: number;
  previous: number;
  blockedUntil: number;
}

/** Keys idle this many windows are dropped by the sweep. */
const IDLE_WINDOWS = 2;

/**
 * The rate limits' counters, O(1) per request: a sliding-window counter per key and limit (the
 * hits of the current window plus the previous window's, weighted by how much of it still lies
 * within the last `ttl`), the estimate Cloudflare and most gateways use.
 *
 * Why not the throttler's default storage (docs/adr/0010): it keeps one expiry time per hit and scans
 * them on every request (`filter`, then `Math.min(...hits)`), so its cost per request grows with
 * the limit. At an HR system's burst (thousands of events per second on one credential) the
 * scan was the largest item of the writer's CPU profile. This storage plugs into
 * `@nestjs/throttler` through its documented `storage` option; the guard, the decorators and the
 * 429 answer stay the library's.
 */
export class SlidingWindowThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;
  private longestTtl = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<{
    totalHits: number;
    timeToExpire: number;
    isBlocked: boolean;
    timeToBlockExpire: number;
  }> {
    const now = this.now();
    this.longestTtl = Math.max(this.longestTtl, ttl);
    const id = `${throttlerName}\u0000${key}`;
    let window = this.windows.get(id);
    if (window === undefined) {
      window = { startedAt: now, current: 0, previous: 0, blockedUntil: 0 };
      this.windows.set(id, window);
    }
    const elapsedWindows = Math.floor((now - window.startedAt) / ttl);
    if (elapsedWindows >= 1) {
      window.previous = elapsedWindows === 1 ? window.current : 0;
      window.current = 0;
      window.startedAt += elapsedWindows * ttl;
    }
    const intoWindow = now - window.startedAt;
    const timeToExpire = Math.max(1, Math.ceil((ttl - intoWindow) / 1000));
    if (window.blockedUntil > now) {
      return Promise.resolve({
        totalHits: limit + 1,
        timeToExpire,
        isBlocked: true,
        timeToBlockExpire: Math.max(1, Math.ceil((window.blockedUntil - now) / 1000)),
      });
    }
    const estimate = (): number =>
      Math.floor(window.previous * ((ttl - intoWindow) / ttl)) + window.current;
    if (estimate() >= limit) {
      // Refused requests do not count: a client that backs off gets through again.
      window.blockedUntil =
        now + (blockDuration > 0 ? blockDuration : this.untilBelow(window, ttl, limit, intoWindow));
      return Promise.resolve({
        totalHits: limit + 1,
        timeToExpire,
        isBlocked: true,
        timeToBlockExpire: Math.max(1, Math.ceil((window.blockedUntil - now) / 1000)),
      });
    }
    window.current += 1;
    return Promise.resolve({
      totalHits: estimate(),
      timeToExpire,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  }

  /** How long (ms) until the estimate falls below `limit` again with no new hits. */
  private untilBelow(window: Window, ttl: number, limit: number, intoWindow: number): number {
    if (window.current >= limit) {
      // The previous window's share alone cannot make room: only the next window does.
      return ttl - intoWindow;
    }
    // previous * (ttl - t) / ttl + current < limit  <=>  t > ttl * (1 - (limit - current) / previous)
    const t = ttl * (1 - (limit - window.current) / Math.max(1, window.previous));
    return Math.max(1, Math.ceil(t - intoWindow));
  }

  private sweep(): void {
    const idleSince = this.now() - IDLE_WINDOWS * this.longestTtl;
    for (const [id, window] of this.windows) {
      if (window.startedAt < idleSince && window.blockedUntil < this.now()) {
        this.windows.delete(id);
      }
    }
  }

  /** Stops the sweep (tests). */
  close(): void {
    clearInterval(this.sweeper);
  }
}
