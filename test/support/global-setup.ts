import { topicSpecs } from '../../libs/contracts/src/topics';
import { KafkaBroker } from '../../tools/kafka/broker';
import { assertPostgresReachable } from './postgres';

declare global {
  var __RESCIND_KAFKA_BROKER__: KafkaBroker | undefined;
}

/**
 * Starts the one real Apache Kafka broker of the run (with the project's topics) and checks
 * PostgreSQL. Test files read the broker's address from RESCIND_TEST_KAFKA_BROKERS and isolate
 * themselves by topic names and group ids (support/kafka.ts `createTestTopics`). Tests that
 * kill, pause or cut off a broker start one of their own (KafkaBroker.start).
 */
export default async function globalSetup(): Promise<void> {
  await assertPostgresReachable();
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  globalThis.__RESCIND_KAFKA_BROKER__ = broker;
  process.env.RESCIND_TEST_KAFKA_BROKERS = broker.brokers.join(',');
}
