import { setImmediate as nextTurn } from 'node:timers/promises';
import { GroupCommit, type Settled } from './group-commit';

/** A run that records the batches it got and answers each item doubled, after `release()`. */
function recordingRun() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const run = async (items: number[]): Promise<Array<Settled<number>>> => {
    batches.push(items);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((n) =>
      n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n * 2 },
    );
  };
  const releaseAll = async (): Promise<void> => {
    while (releases.length > 0) {
      releases.shift()!();
      await nextTurn();
    }
  };
  return { run, batches, releases, releaseAll };
}

describe(GroupCommit.name, () => {
  it('runs items submitted in the same turn together, in order, and answers each its own', async () => {
    const { run, batches, releaseAll } = recordingRun();
    const group = new GroupCommit(run, { maxBatch: 100, concurrency: 1 });
    const answers = Promise.all([1, 2, -3, 4].map((n) => group.submit(n)));
    await nextTurn();
    await releaseAll();
    await expect(answers).resolves.toEqual([
      { ok: true, value: 2 },
      { ok: true, value: 4 },
      { ok: false, error: new Error('bad -3') },
      { ok: true, value: 8 },
    ]);
    expect(batches).toEqual([[1, 2, -3, 4]]);
  });

  it('queues what arrives while every run is busy and runs it together next', async () => {
    const { run, batches, releases, releaseAll } = recordingRun();
    const group = new GroupCommit(run, { maxBatch: 100, concurrency: 1 });
    const first = group.submit(1);
    await nextTurn();
    expect(batches).toEqual([[1]]);
    const later = [2, 3, 4].map((n) => group.submit(n));
    await nextTurn();
    expect(batches).toHaveLength(1); // still busy: they wait
    expect(group.waiting).toBe(3);
    releases.shift()!();
    await first;
    await nextTurn();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await releaseAll();
    await expect(Promise.all(later)).resolves.toHaveLength(3);
  });

  it('takes at most maxBatch items per run and runs up to `concurrency` at once', async () => {
    const { run, batches, releaseAll } = recordingRun();
    const group = new GroupCommit(run, { maxBatch: 2, concurrency: 2 });
    const answers = Promise.all([1, 2, 3, 4, 5].map((n) => group.submit(n)));
    await nextTurn();
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await releaseAll();
    await answers;
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('gives every item of a run that throws the error it threw', async () => {
    const boom = new Error('the transaction failed');
    const group = new GroupCommit<number, number>(() => Promise.reject(boom), {
      maxBatch: 10,
      concurrency: 1,
    });
    await expect(Promise.all([group.submit(1), group.submit(2)])).resolves.toEqual([
      { ok: false, error: boom },
      { ok: false, error: boom },
    ]);
    // And it goes on running afterwards.
    await expect(group.submit(3)).resolves.toEqual({ ok: false, error: boom });
  });
});
