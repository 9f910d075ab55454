import {
  createRevocationConsumer,
  type RevocationConsumer,
  type RevocationConsumerOptions,
} from '@rescind/revocation-consumer';

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
