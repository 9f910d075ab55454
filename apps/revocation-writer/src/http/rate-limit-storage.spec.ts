import { SlidingWindowThrottlerStorage } from './rate-limit-storage';

describe(SlidingWindowThrottlerStorage.name, () => {
  let now: number;
  let storage: SlidingWindowThrottlerStorage;
  const hit = (key = 'k', limit = 3) => storage.increment(key, 1000, limit, 0, 'principal');

  beforeEach(() => {
    now = 1_000_000;
    storage = new SlidingWindowThrottlerStorage(() => now);
  });
  afterEach(() => storage.close());

  it('lets `limit` requests through in a window and refuses the next, with a wait in seconds', async () => {
    for (let i = 1; i <= 3; i++) {
      await expect(hit()).resolves.toMatchObject({ isBlocked: false, totalHits: i });
    }
    const refused = await hit();
    expect(refused.isBlocked).toBe(true);
    expect(refused.timeToBlockExpire).toBe(1);
  });

  it('counts keys and limits apart', async () => {
    await hit('a', 1);
    await expect(hit('a', 1)).resolves.toMatchObject({ isBlocked: true });
    await expect(hit('b', 1)).resolves.toMatchObject({ isBlocked: false });
    await expect(storage.increment('a', 1000, 1, 0, 'ip')).resolves.toMatchObject({
      isBlocked: false,
    });
  });

  it("weighs the previous window's hits by how much of it is still within the last ttl", async () => {
    for (let i = 0; i < 3; i++) {
      await hit();
    }
    now += 1000; // a new window: all 3 earlier hits still count in full
    await expect(hit()).resolves.toMatchObject({ isBlocked: true });
    now += 500; // half of the previous window has slid out: 1.5 of its 3 hits count (floor: 1)
    await expect(hit()).resolves.toMatchObject({ isBlocked: false, totalHits: 2 });
    await expect(hit()).resolves.toMatchObject({ isBlocked: false, totalHits: 3 });
    await expect(hit()).resolves.toMatchObject({ isBlocked: true });
  });

  it('forgets everything after two idle windows', async () => {
    for (let i = 0; i < 3; i++) {
      await hit();
    }
    now += 2000;
    for (let i = 1; i <= 3; i++) {
      await expect(hit()).resolves.toMatchObject({ isBlocked: false, totalHits: i });
    }
  });

  it('does not count refused requests, so a client that backs off gets through again', async () => {
    for (let i = 0; i < 3; i++) {
      await hit();
    }
    for (let i = 0; i < 100; i++) {
      await hit();
    }
    now += 2000;
    await expect(hit()).resolves.toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('holds a block for blockDuration when one is set', async () => {
    await storage.increment('k', 1000, 1, 0, 't');
    const refused = await storage.increment('k', 1000, 1, 5000, 't');
    expect(refused).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    now += 3000; // the window has passed, the block has not
    await expect(storage.increment('k', 1000, 1, 5000, 't')).resolves.toMatchObject({
      isBlocked: true,
    });
    now += 2001;
    await expect(storage.increment('k', 1000, 1, 5000, 't')).resolves.toMatchObject({
      isBlocked: false,
    });
  });
});
