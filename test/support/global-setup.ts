import { Topics } from '../../libs/contracts/src/topics';
import { buildKafkaTestBroker, KafkaTestBroker } from '../../tools/kafka-test-broker/launcher';
import { assertPostgresReachable } from './postgres';

declare global {
  var __RESCIND_KAFKA_TEST_BROKER__: KafkaTestBroker | undefined;
}

/**
 * Builds and starts the shared Kafka-protocol test broker and checks PostgreSQL. Test files
 * read the broker's address from RESCIND_TEST_KAFKA_BROKERS. Tests that inject faults start a
 * broker of their own (KafkaTestBroker.start) so they disturb nobody else.
 */
export default async function globalSetup(): Promise<void> {
  await assertPostgresReachable();
  buildKafkaTestBroker();
  const broker = await KafkaTestBroker.start({
    brokers: 3,
    topics: { [Topics.invalidations]: 6, [Topics.deadLetter]: 1 },
  });
  globalThis.__RESCIND_KAFKA_TEST_BROKER__ = broker;
  process.env.RESCIND_TEST_KAFKA_BROKERS = broker.brokers.join(',');
}
