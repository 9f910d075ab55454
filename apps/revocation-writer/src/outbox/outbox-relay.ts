import { Logger } from '@nestjs/common';
import { backoffDelay } from '@rescind/contracts';

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  maxBackoffMs: number;
  /** First back-off after a failed pass (ms), doubled per further failure. Default 100. */
  initialBackoffMs?: number;
}

/** One pass over the outbox: publish up to `limit` pending messages, return how many. */
export type PublishBatch = (limit: number) => Promise<number>;

/**
 * Drives the outbox: publishes whenever woken (NOTIFY), at least every poll interval, and with
 * exponential back-off while publishing fails. Plain class; the Nest wiring starts and stops it.
 *
 * Two signals, on purpose: `wake()` says "there is new work" and is ignored during a back-off
 * (every commit would otherwise cut it short, and a relay that cannot publish would spin at the
 * commit rate); `retryNow()` says "what failed answers again" (Kafka acknowledged a heartbeat,
 * the PostgreSQL connection is back) and ends a back-off at once, so acknowledged revocations are
 * not held back for up to `maxBackoffMs` after the outage ended. Its callers fire it at most about
 * once per heartbeat interval, which bounds the retry rate while a failure persists.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private running = false;
  private loop: Promise<void> | null = null;
  /** Ends the current sleep; `backoff` says whether it is a back-off after a failure. */
  private sleeping: { end: () => void; backoff: boolean } | null = null;
  private woken = false;
  private failures = 0;

  constructor(
    private readonly publishBatch: PublishBatch,
    private readonly options: RelayOptions,
  ) {}

  /** Consecutive failed passes; 0 when the last pass succeeded. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.loop = this.run();
  }

  /** Something was committed: publish now instead of at the next poll (not during a back-off). */
  wake(): void {
    this.woken = true;
    if (this.sleeping && !this.sleeping.backoff) {
      this.sleeping.end();
    }
  }

  /** What made publishing fail answers again: end a back-off now rather than when it expires. */
  retryNow(): void {
    if (this.sleeping?.backoff) {
      this.sleeping.end();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sleeping?.end();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let delay = this.options.pollIntervalMs;
      try {
        const published = await this.publishBatch(this.options.batchSize);
        if (this.failures > 0) {
          this.logger.log(`outbox publishing recovered after ${this.failures} failed attempt(s)`);
        }
        this.failures = 0;
        if (published === this.options.batchSize) {
          continue; // more is waiting
        }
      } catch (error) {
        this.failures += 1;
        delay = this.backoff();
        this.logger.warn(
          `outbox publish failed (attempt ${this.failures}, retrying in ${delay} ms or once it answers again): ${String(error)}`,
        );
      }
      await this.sleep(delay, this.failures > 0);
    }
  }

  private backoff(): number {
    return backoffDelay(this.failures, {
      initialMs: this.options.initialBackoffMs ?? 100,
      capMs: this.options.maxBackoffMs,
    });
  }

  /**
   * Sleeps `ms`, or less: a poll sleep ends on `wake()` (also when the wake came during the pass
   * that just ended), a back-off sleep on `retryNow()`; both on `stop()`.
   */
  private sleep(ms: number, backoff: boolean): Promise<void> {
    if ((!backoff && this.woken) || !this.running) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.sleeping = null;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.sleeping = { end, backoff };
    });
  }
}
