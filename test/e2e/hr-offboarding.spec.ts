import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

const ISS = 'https://idp.example.com';

/**
 * The walking skeleton: an HR termination posted to the writer reaches a separate consumer's
 * deny-list through PostgreSQL, the outbox relay and a Kafka-protocol broker. Then the broker
 * goes down, another termination is accepted, and nothing acknowledged is lost.
 */
describe('HR offboarding, end to end', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let consumer: RevocationConsumer;
  const applied = new Map<string, number>();

  beforeAll(async () => {
    // A broker of our own: this test takes it down.
    broker = await startOwnBroker(6);
    schema = await createTestSchema('e2e');
    writer = await startWriter(schema, broker.brokers);
    consumer = createRevocationConsumer({
      brokers: broker.brokers,
      groupIdPrefix: 'e2e-enforcement-point',
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxWaitTimeMs: 50,
    });
    consumer.on('rule', ({ rule }) => applied.set(rule.value, Date.now()));
    await consumer.start();
    await consumer.ready();
  });

  afterAll(async () => {
    await consumer?.stop();
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
  });

  async function terminate(
    id: string,
    subject: string,
  ): Promise<{ acceptedAt: number; seq: number }> {
    const response = await postHrEvent(writer, {
      id,
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      subject,
      iss: ISS,
    });
    const acceptedAt = Date.now();
    expect(response.status).toBe(202);
    const body = (await response.json()) as { seq: number; duplicate: boolean };
    expect(body.duplicate).toBe(false);
    return { acceptedAt, seq: body.seq };
  }

  it("revokes every token of the terminated person, new ones too, and nobody else's", async () => {
    const issuedBefore = Math.floor(Date.now() / 1000) - 60;
    expect(consumer.check({ sub: 'alice', iss: ISS, iat: issuedBefore }).revoked).toBe(false);

    const { acceptedAt, seq } = await terminate('hr-evt-1', 'alice');
    const decision = await waitFor('alice revoked at the enforcement point', () => {
      const d = consumer.check({ sub: 'alice', iss: ISS, iat: issuedBefore });
      return d.revoked ? d : undefined;
    });
    const propagationMs = applied.get('alice')! - acceptedAt;
    process.stdout.write(`\n  writer 202 -> consumer deny-list update: ${propagationMs} ms\n`);

    expect(decision.rule).toMatchObject({
      claim: 'sub',
      value: 'alice',
      iss: ISS,
      seq,
      removed: false,
    });
    // Until HR reinstates her: no expiry, and a token issued (or authenticated) after the
    // termination is revoked too, whatever the IdP still mints.
    expect(decision.rule).toMatchObject({ revokedBefore: null, expiresAt: null });
    const later = Math.ceil(Date.now() / 1000) + 60;
    expect(consumer.check({ sub: 'alice', iss: ISS, iat: later, auth_time: later }).revoked).toBe(
      true,
    );
    // Another subject, another issuer: not revoked.
    expect(consumer.check({ sub: 'bob', iss: ISS, iat: issuedBefore }).revoked).toBe(false);
    expect(
      consumer.check({ sub: 'alice', iss: 'https://other.example', iat: issuedBefore }).revoked,
    ).toBe(false);
  });

  it('accepts a termination while the broker is down and delivers it when the broker is back', async () => {
    await broker.down();
    try {
      const { seq } = await terminate('hr-evt-2', 'carol');
      // The relay cannot publish: the row waits in the outbox and health says so.
      const health = await waitFor('health to report kafka down', async () => {
        const response = await fetch(`${writer.url}/health`);
        const body = (await response.json()) as {
          details: { kafka: { status: string; outboxPending: number } };
        };
        return response.status === 503 && body.details.kafka.status === 'down' ? body : undefined;
      });
      expect(health.details.kafka.outboxPending).toBeGreaterThanOrEqual(1);
      expect(consumer.check({ sub: 'carol', iss: ISS }).revoked).toBe(false);
      expect(consumer.status().lastSeq).toBeLessThan(seq);
    } finally {
      await broker.up();
    }
    await waitFor(
      'carol revoked after the broker came back',
      () => consumer.check({ sub: 'carol', iss: ISS }).revoked,
      {
        timeoutMs: 45_000,
      },
    );
    expect(consumer.check({ sub: 'alice', iss: ISS, iat: 0 }).revoked).toBe(true);
  });
});
