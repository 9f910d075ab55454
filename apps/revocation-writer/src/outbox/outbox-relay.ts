import { Logger } from '@nestjs/common';

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  maxBackoffMs: number;
}

/** One pass over the outbox: publish up to `limit` pending messages, return how many. */
export type PublishBatch = (limit: number) => Promise<number>;

/**
 * Drives the outbox: publishes whenever woken (NOTIFY), at least every poll interval, and with
 * exponential back-off while publishing fails. Plain class; the Nest wiring starts and stops it.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
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

  /** Something was committed: publish now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
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
          `outbox publish failed (attempt ${this.failures}, retrying in ${delay} ms): ${String(error)}`,
        );
      }
      await this.sleep(delay, this.failures === 0);
    }
  }

  private backoff(): number {
    const base = Math.min(this.options.maxBackoffMs, 100 * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(base / 2 + Math.random() * (base / 2)); // jitter
  }

  /** Sleeps `ms`, or less when woken (a NOTIFY after success; always on stop). */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if ((wakeable && this.woken) || !this.running) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = () => {
        if (wakeable || !this.running) {
          done();
        }
      };
    });
  }
}
