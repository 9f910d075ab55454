import fc from 'fast-check';
import { backoffDelay } from './backoff';

describe(backoffDelay.name, () => {
  const options = { initialMs: 100, capMs: 5_000 };

  it('doubles from the initial delay and stops at the cap', () => {
    const top = { ...options, random: () => 0.999_999 };
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, top))).toEqual([
      100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000,
    ]);
  });

  it('draws between half the nominal delay and the whole of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (n, r) => {
          const nominal = Math.min(
            options.capMs,
            options.initialMs * 2 ** Math.min(Math.max(n, 1) - 1, 30),
          );
          const delay = backoffDelay(n, { ...options, random: () => r });
          return Number.isInteger(delay) && delay >= nominal / 2 - 0.5 && delay <= nominal + 0.5;
        },
      ),
    );
  });

  it('spreads replicas that fail together (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(6, options)));
    expect(delays.size).toBeGreaterThan(10);
  });

  it('never overflows however many failures', () => {
    expect(
      backoffDelay(Number.MAX_SAFE_INTEGER, { initialMs: 1_000, capMs: 60_000 }),
    ).toBeLessThanOrEqual(60_000);
  });
});
