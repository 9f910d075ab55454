import { ruleKey } from '@rescind/contracts';
import type { Client } from 'pg';
import { KafkaPublisher } from '../../apps/revocation-writer/src/outbox/kafka-publisher';
import { OutboxRelayService } from '../../apps/revocation-writer/src/outbox/outbox-relay.service';
import {
  type OutboxMessage,
  OutboxRepository,
} from '../../apps/revocation-writer/src/outbox/outbox.repository';
import { collectTopic, sharedBrokers, testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

/**
 * Compaction keeps the last record of a key by offset, not the one with the highest seq: the
 * versions of one key must reach the topic in seq order, whatever the number of relays.
 */
describe('outbox relay: per-key seq order with several relays', () => {
  const brokers = sharedBrokers();
  const topics = testTopics('iorder', { partitions: 2 });
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;

  beforeAll(async () => {
    env = await startWriterEnvironment('iorder', {
      topics,
      brokers,
      config: { HEARTBEAT_INTERVAL_MS: '0' },
    });
    ({ writer, db } = env);
    // This test drives two relay passes by hand, as two writer replicas would run them.
    await writer.app.get(OutboxRelayService).relay.stop();
  });

  afterAll(() => env?.close());

  /** Commits one outbox row for `key` with a new seq, as a rule change would. */
  async function commitVersion(key: string, value: string): Promise<number> {
    const { rows } = await db.query<{ seq: string }>(`SELECT nextval('rule_seq') AS seq`);
    const seq = Number(rows[0]!.seq);
    const event = {
      v: 1,
      type: 'rule.set',
      key,
      seq,
      revocationId: '00000000-0000-4000-8000-000000000001',
      committedAt: Date.now(),
      rule: { claim: 'jti', value, iss: null, revokedBefore: null, expiresAt: null },
    };
    await db.query(`INSERT INTO outbox (seq, topic_key, payload) VALUES ($1, $2, $3)`, [
      seq,
      key,
      JSON.stringify(event),
    ]);
    return seq;
  }

  it('never publishes a later version of a key while another relay still publishes an earlier one', async () => {
    const outbox = writer.app.get(OutboxRepository);
    const publisher = writer.app.get(KafkaPublisher);
    const key = ruleKey({ claim: 'jti', value: 'ordered' });
    const first = await commitVersion(key, 'ordered');
    const second = await commitVersion(key, 'ordered');
    const reader = await collectTopic(brokers, topics.names.invalidations);
    try {
      // Relay A takes the first version and is slow to get it acknowledged.
      let release!: () => void;
      const slowBroker = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const publishing = new Promise<void>((resolve) => (entered = resolve));
      const relayA = outbox.publishPending(1, async (messages: OutboxMessage[]) => {
        entered();
        await slowBroker;
        await publisher.publish(messages);
      });
      await publishing;
      // Relay B runs meanwhile, and must not send the second version ahead of the first.
      const byB = await outbox.publishPending(10, (messages) => publisher.publish(messages));
      release();
      expect(await relayA).toBe(1);
      await outbox.publishPending(10, (messages) => publisher.publish(messages)); // what is left

      const onTopic = await waitFor('both versions on the topic', () => {
        const mine = reader.messages.filter((m) => m.key === key);
        return mine.length === 2 ? mine : undefined;
      });
      // collectTopic keeps each partition's offset order; one key lives on one partition.
      expect(onTopic.map((m) => (m.value as { seq: number }).seq)).toEqual([first, second]);
      expect(byB).toBe(0); // B stood back: one relay publishes at a time
    } finally {
      await reader.stop();
    }
  });
});
