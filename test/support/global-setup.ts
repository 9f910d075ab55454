import { topicSpecs } from '../../libs/contracts/src/topics';
import { KafkaBroker } from '../../tools/kafka/broker';
import { assertPostgresReachable } from './postgres';

declare global {
  var __RESCIND_KAFKA_BROKER__: { broker: KafkaBroker; users: number } | undefined;
}

/**
 * Starts the one real Apache Kafka broker of the run (with the project's topics) and checks
 * PostgreSQL. Test files read the broker's address from RESCIND_TEST_KAFKA_BROKERS and isolate
 * themselves by topic names and group ids (support/kafka.ts `testTopics`). Tests that kill,
 * pause or cut off a broker start one of their own (`startOwnBroker`). The integration and e2e
 * projects both name this setup; jest runs it once per project, and they share the broker.
 */
export default async function globalSetup(): Promise<void> {
  const shared = globalThis.__RESCIND_KAFKA_BROKER__;
  if (shared) {
    shared.users += 1;
    return;
  }
  await assertPostgresReachable();
  const started = Date.now();
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  if (process.env.CI) {
    process.stdout.write(`\nKafka broker ready in ${Date.now() - started} ms\n`);
  }
  globalThis.__RESCIND_KAFKA_BROKER__ = { broker, users: 1 };
  process.env.RESCIND_TEST_KAFKA_BROKERS = broker.brokers.join(',');
}
