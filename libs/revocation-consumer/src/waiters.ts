/**
 * Callers waiting for a transition of the consumer (ready, fresh): resolved when it happens,
 * rejected if the consumer is stopped first.
 */
export class Waiters {
  private readonly pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  resolveAll(): void {
    for (const waiter of this.pending.splice(0)) {
      waiter.resolve();
    }
  }

  /** Rejects every waiter, each with an error of its own. */
  rejectAll(error: () => Error): void {
    for (const waiter of this.pending.splice(0)) {
      waiter.reject(error());
    }
  }
}
