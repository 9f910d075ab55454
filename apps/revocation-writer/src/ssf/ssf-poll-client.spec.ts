import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PollConfig } from '../config/config';
import { PollFailedError, requestSets, sendReport } from './ssf-poll-client';

/** V8's `gc()` without starting jest with --expose-gc. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A transmitter that reads each request and never answers it. */
async function silentServer(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((request) => request.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}/ssf/poll` };
}

const poll = (endpoint: string): PollConfig => ({
  endpoint,
  intervalMs: 50,
  maxEvents: 10,
  timeoutMs: 300,
  maxBackoffMs: 200,
  maxResponseBytes: 65_536,
});

/** Collects garbage every 20 ms while `work` runs: what a busy writer's heap does to a hung poll. */
async function underGarbageCollection<T>(work: Promise<T>): Promise<T> {
  const collecting = setInterval(gc, 20);
  try {
    return await work;
  } finally {
    clearInterval(collecting);
  }
}

/** Rejects when `work` has not settled after `ms`: the bound this spec checks is far shorter. */
function settlesWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe('an RFC 8936 poll request that gets no answer', () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    ({ server, endpoint } = await silentServer());
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  // Regression: on Node 20 a signal from AbortSignal.any() could lose its timeout after a
  // garbage collection and never abort, leaving the poller waiting on a hung request for good
  // (seen in CI as a transmitter that was never polled again).
  it('ends at its timeout even while garbage is collected', async () => {
    const request = requestSets(
      poll(endpoint),
      { ack: [], setErrs: {}, maxEvents: 10, returnImmediately: true },
      new AbortController().signal,
    );

    const error = await settlesWithin(underGarbageCollection(request), 5000).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(PollFailedError);
    expect((error as Error).message).toBe('no answer within 300 ms');
  });

  it('ends at stop, before its timeout', async () => {
    const stop = new AbortController();
    const request = requestSets(
      { ...poll(endpoint), timeoutMs: 60_000 },
      { ack: [], setErrs: {}, maxEvents: 10, returnImmediately: true },
      stop.signal,
    );
    setTimeout(() => stop.abort(), 100);

    const error = await settlesWithin(underGarbageCollection(request), 5000).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(PollFailedError);
    expect((error as Error).message).toMatch(/^transmitter unreachable: /);
  });

  it('ends an acknowledge-only report at its timeout too', async () => {
    const report = sendReport(poll(endpoint), { ack: ['a'], setErrs: {} }, 300);

    const error = await settlesWithin(underGarbageCollection(report), 5000).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(PollFailedError);
    expect((error as Error).message).toBe('no answer within 300 ms');
  });
});
