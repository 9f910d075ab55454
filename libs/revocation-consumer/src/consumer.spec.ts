import { createServer } from 'node:net';
import { waitFor } from '../../../test/support/wait-for';
import { createRevocationConsumer, RevocationConsumer } from './consumer';
import { RevocationConsumerError } from './errors';

/** A local port nothing listens on: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A consumer whose broker refuses connections, failing fast (no kafkajs retries). */
async function unreachableConsumer(): Promise<RevocationConsumer> {
  return createRevocationConsumer({
    brokers: [`127.0.0.1:${await closedPort()}`],
    kafka: { retry: { retries: 0 }, connectionTimeout: 500 },
  });
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('it resolved');
    },
    (error: unknown) => error as RevocationConsumerError,
  );

describe(RevocationConsumer.name, () => {
  it('rejects ready() and fresh() with consumer_stopped when stopped first', async () => {
    const consumer = await unreachableConsumer();
    const ready = failure(consumer.ready());
    const fresh = failure(consumer.fresh());
    await consumer.stop();
    expect(await ready).toBeInstanceOf(RevocationConsumerError);
    expect(await ready).toMatchObject({
      code: 'consumer_stopped',
      message: 'revocation consumer stopped before it was ready',
    });
    expect(await fresh).toBeInstanceOf(RevocationConsumerError);
    expect(await fresh).toMatchObject({
      code: 'consumer_stopped',
      message: 'revocation consumer stopped before it was fresh',
    });
  });

  it('rejects a start() still bootstrapping with consumer_stopped, and any later start() with consumer_not_restartable', async () => {
    const consumer = await unreachableConsumer();
    const started = failure(consumer.start());
    await waitFor('a failed bootstrap attempt', () => consumer.status().lastError !== null);
    await consumer.stop();
    expect(await started).toBeInstanceOf(RevocationConsumerError);
    expect(await started).toMatchObject({
      code: 'consumer_stopped',
      message: 'revocation consumer stopped before it was ready',
    });
    const restarted = await failure(consumer.start());
    expect(restarted).toBeInstanceOf(RevocationConsumerError);
    expect(restarted).toMatchObject({
      code: 'consumer_not_restartable',
      message: 'a stopped revocation consumer cannot be started again: create a new one',
    });
  });

  it('answers not-ready before it started (fail-closed), and counts the decision', async () => {
    const consumer = await unreachableConsumer();
    expect(consumer.check({ sub: 'alice', iat: 0 })).toEqual({
      allowed: false,
      revoked: false,
      reason: 'not-ready',
    });
    expect(consumer.status().decisions['not-ready']).toBe(1);
    await consumer.stop();
  });
});
