/**
 * Propagation on a real Apache Kafka broker (tools/kafka): HR terminations are posted to a real
 * writer at a steady rate (open loop: each at its scheduled time, whatever the answers before
 * it), and for each one the time from the writer's 202 reaching the client to the enforcement
 * point's deny-list update is taken on one clock (one process). The enforcement point runs the
 * consumer library with its default settings.
 *
 *   npm run bench:propagation     (BENCH_RATE=200 BENCH_REVOCATIONS=2000 to change the load)
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (TEST_DATABASE_URL), Java 17 and Maven.
 */
import { topicSpecs } from '@rescind/contracts';
import { createRevocationConsumer } from '@rescind/revocation-consumer';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaBroker } from '../tools/kafka/broker';
import { createTestSchema } from '../test/support/postgres';
import { postHrEvent, startWriter, termination } from '../test/support/writer';
import { machine, percentile } from './report';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 1000);
const ISS = 'https://idp.example.com';

async function main(): Promise<void> {
  console.log(machine());
  const broker = await KafkaBroker.start({ topics: topicSpecs() });
  const schema = await createTestSchema('benchprop');
  const writer = await startWriter(schema, broker.brokers, {
    // Production defaults for the relay, not the tests' short ones.
    OUTBOX_POLL_INTERVAL_MS: '1000',
  });
  const consumer = createRevocationConsumer({
    brokers: broker.brokers,
    groupIdPrefix: 'bench-propagation',
  });
  const appliedAt = new Map<string, number>();
  consumer.on('rule', ({ rule }) => appliedAt.set(rule.value, performance.now()));
  try {
    await consumer.start();
    await consumer.ready();
    const acknowledgedAt = new Map<string, number>();
    let failed = 0;
    const start = performance.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < REVOCATIONS; i += 1) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) {
        await sleep(wait);
      }
      const subject = `bench-${i}`;
      sends.push(
        postHrEvent(writer, termination(`bench-evt-${i}`, subject, ISS)).then(async (response) => {
          acknowledgedAt.set(subject, performance.now());
          await response.arrayBuffer();
          if (response.status !== 202) {
            failed += 1;
          }
        }),
      );
    }
    await Promise.all(sends);
    const offeredSeconds = (performance.now() - start) / 1000;
    const deadline = performance.now() + 60_000;
    while (appliedAt.size < acknowledgedAt.size - failed && performance.now() < deadline) {
      await sleep(20);
    }
    const latencies = [...acknowledgedAt]
      .filter(([subject]) => appliedAt.has(subject))
      .map(([subject, ackAt]) => appliedAt.get(subject)! - ackAt)
      .sort((a, b) => a - b);
    const ms = (x: number): string => `${x.toFixed(1)} ms`;
    console.log(
      `offered ${RATE}/s for ${offeredSeconds.toFixed(1)} s: ${acknowledgedAt.size - failed} acknowledged, ` +
        `${failed} refused, ${latencies.length} applied at the enforcement point`,
    );
    console.log(
      `ack -> deny-list update: p50 ${ms(percentile(latencies, 50))}, p90 ${ms(percentile(latencies, 90))}, ` +
        `p99 ${ms(percentile(latencies, 99))}, max ${ms(latencies[latencies.length - 1] ?? NaN)}`,
    );
  } finally {
    await consumer.stop();
    await writer.stop();
    await schema.drop();
    await broker.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
