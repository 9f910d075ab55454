import {
  createRevocationConsumer,
  type RevocationConsumer,
  type RevocationConsumerOptions,
} from '@rescind/revocation-consumer';
import { waitFor } from './wait-for';

/**
 * A consumer tuned for the test broker (short fetch waits and group timeouts), started and
 * caught up. The caller stops it.
 */
export async function startTestConsumer(
  brokers: string[],
  options: Partial<RevocationConsumerOptions> = {},
): Promise<RevocationConsumer> {
  const consumer = createRevocationConsumer({
    brokers,
    maxWaitTimeMs: 50,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...options,
  });
  await consumer.start();
  await consumer.ready();
  return consumer;
}

/**
 * Starts `consumer` and waits until it is ready. After `timeoutMs` it stops the consumer (so its
 * `start()` settles) and fails with what kept it from being ready (`status().lastError`), rather
 * than hanging until the test's own timeout. Otherwise the caller stops it.
 */
export async function startUntilReady(
  consumer: RevocationConsumer,
  timeoutMs = 20_000,
): Promise<void> {
  const started = consumer.start();
  try {
    await waitFor('the consumer to become ready', () => consumer.status().ready, { timeoutMs });
  } catch (error) {
    const lastError = consumer.status().lastError;
    await consumer.stop();
    await started.catch(() => undefined);
    throw new Error(`${String(error)}; status().lastError: ${lastError}`);
  }
  await started;
}
