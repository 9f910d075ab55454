import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import { performance } from 'node:perf_hooks';
import { percentile } from '../../bench/report';
import { sharedBrokers, testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, termination } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';
const REVOCATIONS = 150;

/**
 * Propagation on the real broker with the consumer's default settings (no fetch-wait tuning):
 * for each of REVOCATIONS HR terminations, the time from the writer's 202 reaching the client
 * to the enforcement point's deny-list update, in one process and on one clock. The figures are
 * printed (BENCHMARKS.md records them); what is asserted is that every acknowledged revocation
 * arrived as the rule written, not how fast: speed goals live in benchmarks.
 */
describe('propagation from acknowledgement to deny-list, real broker, default consumer', () => {
  const topics = testTopics('latency');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let consumer: RevocationConsumer;
  const appliedAt = new Map<string, number>();

  beforeAll(async () => {
    env = await startWriterEnvironment('latency', { topics });
    ({ writer } = env);
    // Defaults on purpose: maxWaitTimeMs, session and heartbeat settings as a team ships them.
    consumer = env.adopt(
      createRevocationConsumer({
        brokers: sharedBrokers(),
        topic: topics.names.invalidations,
        groupIdPrefix: 'latency-enforcement-point',
      }),
    );
    consumer.on('rule', ({ rule }) => appliedAt.set(rule.value, performance.now()));
    await consumer.start();
    await consumer.ready();
  });

  afterAll(() => env?.close());

  it(`delivers each of ${REVOCATIONS} acknowledged terminations, and prints ack -> applied p50/p99`, async () => {
    const acknowledgedAt = new Map<string, number>();
    const seqOf = new Map<string, number>();
    for (let i = 0; i < REVOCATIONS; i += 1) {
      const subject = `latency-${i}`;
      const response = await postHrEvent(writer, termination(`latency-evt-${i}`, subject, ISS));
      acknowledgedAt.set(subject, performance.now());
      expect(response.status).toBe(202);
      seqOf.set(subject, ((await response.json()) as { seq: number }).seq);
    }
    await waitFor(
      `all ${REVOCATIONS} terminations at the enforcement point`,
      () => appliedAt.size >= REVOCATIONS,
      { timeoutMs: 30_000 },
    );

    const latencies = [...acknowledgedAt].map(
      ([subject, ackAt]) => appliedAt.get(subject)! - ackAt,
    );
    for (const [subject, seq] of seqOf) {
      const decision = consumer.check({ sub: subject, iss: ISS, iat: 0 });
      expect(decision.revoked && decision.rule).toMatchObject({
        claim: 'sub',
        value: subject,
        seq,
      });
    }
    latencies.sort((a, b) => a - b);
    const ms = (x: number): string => `${x.toFixed(1)} ms`;
    process.stdout.write(
      `\n  ack -> deny-list update over ${latencies.length} revocations (real Kafka, default consumer): ` +
        `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
        `max ${ms(latencies[latencies.length - 1]!)}\n`,
    );
  });
});
