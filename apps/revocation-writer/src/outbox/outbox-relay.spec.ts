import { Logger } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';
import { waitFor } from '../../../../test/support/wait-for';

/** Lets every pending callback and timer of zero delay run: no wall-clock sleep. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(OutboxRelay.name, () => {
  let relay: OutboxRelay;
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterEach(async () => {
    await relay?.stop();
  });

  /** A relay whose every sleep lasts a minute, publishing through `attempt`. */
  const start = (attempt: (call: number) => number) => {
    let calls = 0;
    relay = new OutboxRelay(
      () => {
        calls += 1;
        return Promise.resolve(attempt(calls));
      },
      { batchSize: 10, pollIntervalMs: 60_000, maxBackoffMs: 60_000, initialBackoffMs: 60_000 },
    );
    relay.start();
    return () => calls;
  };
  const failFirst = (call: number) => {
    if (call === 1) {
      throw new Error('broker unreachable');
    }
    return 0;
  };

  it('ends a back-off as soon as what failed answers again (retryNow), instead of waiting it out', async () => {
    const calls = start(failFirst);
    await waitFor('the first, failing pass', () => relay.consecutiveFailures === 1);
    relay.retryNow();
    await waitFor('the retry, long before the minute of back-off', () => calls() === 2, {
      timeoutMs: 2000,
    });
    expect(relay.consecutiveFailures).toBe(0);
  });

  it('does not cut a back-off short for new work (wake), so commits cannot make it spin', async () => {
    const calls = start(failFirst);
    await waitFor('the first, failing pass', () => relay.consecutiveFailures === 1);
    for (let i = 0; i < 100; i++) {
      relay.wake();
      await settle();
    }
    expect(calls()).toBe(1);
  });

  it('publishes at once when woken after a successful pass, and ignores retryNow then', async () => {
    const calls = start(() => 0);
    await waitFor('the first pass', () => calls() === 1);
    relay.retryNow();
    await settle();
    expect(calls()).toBe(1);
    relay.wake();
    await waitFor('the woken pass', () => calls() === 2, { timeoutMs: 2000 });
  });
});
