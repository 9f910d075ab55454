import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter, termination } from '../support/writer';

const ISS = 'https://idp.example.com';

/**
 * Promise 1 and 3 on a real broker crash: revocations keep arriving at a steady pace while the
 * broker is SIGKILLed and, a little later, started again on the same log directory. Nothing the
 * writer acknowledged may be lost, every enforcement point must converge on all of it, and what
 * the broker had stored before the crash must still be there afterwards (a new enforcement point
 * that reads the topic alone, without a snapshot, finds every rule).
 */
describe('broker SIGKILL and restart under a steady load of revocations', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  const consumers: RevocationConsumer[] = [];

  const startConsumer = async (name: string): Promise<RevocationConsumer> => {
    const consumer = createRevocationConsumer({
      brokers: broker.brokers,
      groupIdPrefix: `crash-${name}`,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxWaitTimeMs: 100,
    });
    consumers.push(consumer);
    await consumer.start();
    await consumer.ready();
    return consumer;
  };

  beforeAll(async () => {
    broker = await startOwnBroker(3);
    schema = await createTestSchema('crash');
    writer = await startWriter(schema, broker.brokers);
    db = await connectToSchema(schema);
  });

  afterAll(async () => {
    for (const consumer of consumers) {
      await consumer.stop();
    }
    await db?.end();
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
  });

  it('loses nothing acknowledged, and every enforcement point converges', async () => {
    const [a, b] = [await startConsumer('a'), await startConsumer('b')];
    const acknowledged = new Map<string, number>(); // subject -> seq
    let sent = 0;
    const terminate = async (): Promise<void> => {
      const subject = `crash-${sent}`;
      const response = await postHrEvent(writer, termination(`crash-evt-${sent}`, subject, ISS));
      sent += 1;
      // While PostgreSQL is up the writer acknowledges whatever Kafka does.
      expect(response.status).toBe(202);
      acknowledged.set(subject, ((await response.json()) as { seq: number }).seq);
    };
    const load = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 1) {
        await terminate();
      }
    };

    await load(40);
    await waitFor('the first revocations at both enforcement points', () =>
      [a, b].every((c) => c.check({ sub: 'crash-0', iss: ISS }).revoked),
    );
    const killed = broker.pid;
    await broker.kill();
    expect(broker.pid).toBeNull();
    await load(40); // acknowledged into the outbox while there is no broker at all
    const restarting = broker.restart();
    await load(40); // and while it starts again
    await restarting;
    expect(broker.pid).not.toBe(killed);
    await load(40);

    const maxSeq = Math.max(...acknowledged.values());
    for (const consumer of [a, b]) {
      // Converged: everything applied, and fresh again (heartbeats prove it), so check() answers
      // from the list rather than with the staleness policy.
      await waitFor(
        `enforcement point to apply seq ${maxSeq} and be fresh`,
        () => consumer.status().lastSeq >= maxSeq && !consumer.status().stale,
        { timeoutMs: 60_000 },
      );
    }
    for (const [subject, seq] of acknowledged) {
      for (const consumer of [a, b]) {
        const decision = consumer.check({ sub: subject, iss: ISS });
        expect(decision.revoked && decision.rule.seq).toBe(seq);
      }
    }
    const { rows } = await db.query<{ pending: string }>(
      'SELECT count(*) AS pending FROM outbox WHERE published_at IS NULL',
    );
    expect(Number(rows[0]!.pending)).toBe(0);
    expect(a.status().rules).toBe(b.status().rules);

    // What was on the broker's log before the SIGKILL is still there.
    const late = await startConsumer('late');
    await waitFor('the new enforcement point to be fresh', () => !late.status().stale);
    for (const [subject, seq] of acknowledged) {
      const decision = late.check({ sub: subject, iss: ISS });
      expect(decision.revoked && decision.rule.seq).toBe(seq);
    }
  });
});
