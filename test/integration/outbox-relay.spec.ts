import { InvalidationEventV1Schema, Topics } from '@rescind/contracts';
import type { Client } from 'pg';
import { OutboxRepository } from '../../apps/revocation-writer/src/outbox/outbox.repository';
import { startTelemetry } from '../../apps/revocation-writer/src/telemetry/telemetry';
import { collectTopic, type ReceivedMessage, startOwnBroker } from '../support/kafka';
import { type KafkaBroker } from '../../tools/kafka/broker';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

describe('outbox relay', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let db: Client;
  let reader: { messages: ReceivedMessage[]; stop(): Promise<void> };
  const telemetry = startTelemetry('rescind-writer-test', process.env);

  beforeAll(async () => {
    broker = await startOwnBroker(6);
    schema = await createTestSchema('relay');
    writer = await startWriter(schema, broker.brokers);
    db = await connectToSchema(schema);
    reader = await collectTopic(broker.brokers, Topics.invalidations);
  });

  afterAll(async () => {
    await reader?.stop();
    await db?.end();
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
    await telemetry.shutdown();
  });

  const published = (seq: number) => () =>
    reader.messages.find((m) => {
      const value = m.value as { type: string; seq: number };
      return value.type !== 'heartbeat' && value.seq === seq;
    });

  it('gives every message a traceparent, a trace of its own when the caller sent none', async () => {
    const seqs: number[] = [];
    for (const id of ['relay-untraced-1', 'relay-untraced-2']) {
      const response = await postHrEvent(writer, {
        id,
        type: 'employee.terminated',
        occurredAt: '2026-11-20T10:00:00Z',
        subject: id,
        iss: 'https://idp.example.com',
      });
      expect(response.status).toBe(202);
      seqs.push(((await response.json()) as { seq: number }).seq);
    }
    const traces = [];
    for (const seq of seqs) {
      const message = await waitFor('the event on the invalidation topic', published(seq));
      const traceparent = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(
        String(message.headers.traceparent),
      );
      expect(traceparent).not.toBeNull();
      traces.push(traceparent![1]);
    }
    expect(new Set(traces).size).toBe(2);
  });

  it('publishes each change keyed by rule key, as a valid v1 event, with trace context in headers', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await postHrEvent(
      writer,
      {
        id: 'relay-1',
        type: 'employee.role_changed',
        occurredAt: '2026-11-20T10:00:00Z',
        subject: 'dana',
        iss: 'https://idp.example.com',
      },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    expect(response.status).toBe(202);
    const { seq, revocationId } = (await response.json()) as { seq: number; revocationId: string };

    const message = await waitFor('the event on the invalidation topic', published(seq));
    expect(message.key).toBe('sub:https%3A%2F%2Fidp.example.com:dana');
    const event = InvalidationEventV1Schema.parse(message.value);
    expect(event).toMatchObject({
      type: 'rule.set',
      key: message.key,
      seq,
      revocationId,
      rule: {
        claim: 'sub',
        value: 'dana',
        iss: 'https://idp.example.com',
        revokedBefore: expect.any(Number),
      },
    });
    expect(message.headers['content-type']).toBe('application/json');
    expect(message.headers['rescind-schema']).toBe('rescind.invalidation.v1');
    expect(message.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));

    const { rows } = await db.query<{ published_at: Date | null }>(
      `SELECT published_at FROM outbox WHERE seq = $1`,
      [seq],
    );
    expect(rows[0]!.published_at).toBeInstanceOf(Date);
  });

  it('publishes a row whose transaction commits after a higher seq was already published', async () => {
    // A slow writer transaction draws its seq first and commits last.
    const slow = await connectToSchema(schema);
    try {
      await slow.query('BEGIN');
      const { rows } = await slow.query<{ seq: string }>(`SELECT nextval('rule_seq') AS seq`);
      const lowSeq = Number(rows[0]!.seq);
      const lateEvent = {
        v: 1,
        type: 'rule.set',
        key: 'jti::late-token',
        seq: lowSeq,
        revocationId: '00000000-0000-4000-8000-000000000001',
        committedAt: Date.now(),
        rule: {
          claim: 'jti',
          value: 'late-token',
          iss: null,
          revokedBefore: null,
          expiresAt: null,
        },
      };
      await slow.query(`INSERT INTO outbox (seq, topic_key, payload) VALUES ($1, $2, $3)`, [
        lowSeq,
        lateEvent.key,
        JSON.stringify(lateEvent),
      ]);

      const response = await postHrEvent(writer, {
        id: 'relay-2',
        type: 'employee.terminated',
        occurredAt: '2026-11-20T10:00:00Z',
        subject: 'erin',
      });
      const { seq: highSeq } = (await response.json()) as { seq: number };
      expect(highSeq).toBeGreaterThan(lowSeq);
      await waitFor('the higher seq to be published', published(highSeq));
      expect(published(lowSeq)()).toBeUndefined();

      await slow.query(`SELECT pg_notify('rescind_outbox', $1)`, [schema.schema]);
      await slow.query('COMMIT');
      const late = await waitFor('the late, lower seq to be published too', published(lowSeq));
      expect(late.key).toBe('jti::late-token');
    } finally {
      await slow.end();
    }
  });

  it('marks rows published only after the broker acknowledged them', async () => {
    await broker.down();
    let seq: number;
    try {
      const response = await postHrEvent(writer, {
        id: 'relay-3',
        type: 'employee.terminated',
        occurredAt: '2026-11-20T10:00:00Z',
        subject: 'frank',
      });
      expect(response.status).toBe(202);
      seq = ((await response.json()) as { seq: number }).seq;
      // Let the relay try and fail at least twice.
      await waitFor('two failed publish attempts', async () => {
        const health = (await (await fetch(`${writer.url}/health`)).json()) as {
          details: { kafka: { consecutiveFailures: number } };
        };
        return health.details.kafka.consecutiveFailures >= 2;
      });
      const { rows } = await db.query<{ published_at: Date | null }>(
        `SELECT published_at FROM outbox WHERE seq = $1`,
        [seq],
      );
      expect(rows[0]!.published_at).toBeNull();
    } finally {
      await broker.up();
    }
    await waitFor('the row to be published after the broker is back', published(seq), {
      timeoutMs: 30_000,
    });
    await waitFor('the row to be marked published', async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM outbox WHERE seq = $1 AND published_at IS NOT NULL`,
        [seq],
      );
      return rows.length === 1;
    });
  });

  it('purges published rows past the retention in bounded batches, oldest first, never pending ones', async () => {
    // Rows of their own, far above any seq the relay draws, so the relay leaves them alone.
    await db.query(
      `INSERT INTO outbox (seq, topic_key, payload, published_at)
       SELECT 9000000 + i, 'purge-test', '{}', now() - interval '2 hours' - i * interval '1 second'
         FROM generate_series(1, 1005) AS i`,
    );
    await db.query(
      `INSERT INTO outbox (seq, topic_key, payload, published_at) VALUES
         (9100001, 'purge-test', '{}', now() - interval '1 minute'),
         (9100002, 'purge-test', '{}', NULL)`,
    );
    const outbox = writer.app.get(OutboxRepository);
    const left = async () =>
      (
        await db.query<{ seq: string }>(
          `SELECT seq FROM outbox WHERE topic_key = 'purge-test' ORDER BY seq`,
        )
      ).rows.map((r) => Number(r.seq));

    expect(await outbox.purgePublished(3600, 1000)).toBe(1000);
    // The oldest went first: those published longest ago have the highest i.
    expect(await left()).toEqual([9000001, 9000002, 9000003, 9000004, 9000005, 9100001, 9100002]);
    expect(await outbox.purgePublished(3600, 1000)).toBe(5);
    expect(await left()).toEqual([9100001, 9100002]); // recent and unpublished stay
    await db.query(`DELETE FROM outbox WHERE topic_key = 'purge-test'`);
  });
});
