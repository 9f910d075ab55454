/**
 * Capped exponential back-off with "equal jitter": the n-th delay after a failure is
 * `min(capMs, initialMs * 2^(n-1))`, half of it fixed and half drawn at random, so that replicas
 * failing together (a broker or database outage) do not retry in step, while no delay is shorter
 * than half its nominal value (a retry storm is what jitter must not cause).
 *
 * One helper for every retry loop of the writer and the consumer library: the outbox relay, the
 * Kafka ingest, the SSF poller and the consumer's bootstrap. Lives in contracts because that is
 * the one package both sides already depend on; it does no I/O.
 */
export interface BackoffOptions {
  /** Delay after the first failure (ms), before jitter. */
  initialMs: number;
  /** No delay exceeds this (ms). */
  capMs: number;
  /** Randomness in [0, 1); `Math.random` unless a test pins it. */
  random?: () => number;
}

/**
 * The delay (ms, whole) before retry number `failures` (1 after the first failure). Failures
 * beyond 30 doublings are treated as 30, so the arithmetic never overflows to Infinity.
 */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  const doublings = Math.min(Math.max(failures, 1) - 1, 30);
  const nominal = Math.min(options.capMs, options.initialMs * 2 ** doublings);
  const random = options.random ?? Math.random;
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
