/** One item's outcome: its value, or what it failed with (the others may still have succeeded). */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommitOptions {
  /** Most items one run takes. */
  maxBatch: number;
  /** Runs in flight at once; items that arrive meanwhile wait for the next free run. */
  concurrency: number;
}

interface Waiting<I, O> {
  item: I;
  resolve(settled: Settled<O>): void;
}

/**
 * Group commit: items submitted while every run is busy wait, then go together into the next
 * run, so under load one transaction serves many requests and at low load each runs at once (it
 * waits one turn of the event loop, for the items of the same turn, and nothing else). Items are
 * run in the order they were submitted. Each submitter gets its own item's outcome; `run` must
 * answer one outcome per item, in order (a failure of the whole run is each item's failure).
 */
export class GroupCommit<I, O> {
  private readonly queue: Array<Waiting<I, O>> = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<Array<Settled<O>>>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Items waiting for a run. */
  get waiting(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<Settled<O>> {
    return new Promise((resolve) => {
      this.queue.push({ item, resolve });
      if (!this.scheduled && this.running < this.options.concurrency) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running += 1;
      void this.runBatch(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Array<Waiting<I, O>>): Promise<void> {
    let outcomes: Array<Settled<O>>;
    try {
      outcomes = await this.run(batch.map((w) => w.item));
    } catch (error) {
      outcomes = batch.map(() => ({ ok: false, error }));
    }
    batch.forEach((waiting, i) => {
      waiting.resolve(
        outcomes[i] ?? { ok: false, error: new Error('group commit: the run answered no outcome') },
      );
    });
  }
}
