import type { Admin, Producer } from 'kafkajs';
import type { Client } from 'pg';
import { IdempotencyRetention } from '../../apps/revocation-writer/src/ingest/idempotency-retention';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { signWebhook } from '../support/webhook-signing';
import { postHrEvent, type RunningWriter, termination } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const GROUP = 'rescind-writer-idempotency-transports';
const ISS = 'https://idp.example.com';

/**
 * docs/design.md promise 2: the same input event delivered twice has the effect of one, keyed by
 * (source, event id) whatever carried it; a webhook-id is a replay guard of its own.
 */
describe('idempotency across transports', () => {
  const topics = testTopics('idemtransports');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let producer: Producer;
  let admin: Admin;

  beforeAll(async () => {
    env = await startWriterEnvironment('idemtransports', {
      topics,
      producer: true,
      admin: true,
      config: {
        WEBHOOK_SOURCES: 'hr',
        WEBHOOK_SECRET_HR: SECRET,
        KAFKA_INGEST_SOURCES: 'hr',
        KAFKA_INGEST_GROUP_ID: GROUP,
        KAFKA_INGEST_MAX_WAIT_MS: '50',
        IDEMPOTENCY_RETENTION_DAYS: '7',
      },
    });
    ({ writer, db, producer, admin } = env);
  });

  afterAll(() => env?.close());

  function signed(raw: string, webhookId: string): Promise<Response> {
    const timestamp = Math.floor(Date.now() / 1000);
    return fetch(`${writer.url}/v1/events/hr`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(webhookId, timestamp, raw, SECRET),
      },
      body: raw,
    });
  }

  async function answer(response: Response): Promise<{ status: number; body: unknown }> {
    return { status: response.status, body: await response.json() };
  }

  /** Every stored version of the subject's rule: one per change (the audit log), and its row. */
  async function ruleOf(subject: string) {
    const { rows } = await db.query<{ seq: string; revoked_before: Date; changes: string }>(
      `SELECT r.seq, r.revoked_before,
              (SELECT count(*) FROM audit_log a WHERE a.rule_key = r.rule_key) AS changes
         FROM revocation_rule r WHERE r.claim = 'sub' AND r.value = $1`,
      [subject],
    );
    return rows;
  }

  async function committed(): Promise<bigint> {
    const [offsets] = await admin.fetchOffsets({ groupId: GROUP, topics: [topics.names.hrEvents] });
    return offsets!.partitions.reduce(
      (sum, p) => sum + (p.offset === '-1' ? 0n : BigInt(p.offset)),
      0n,
    );
  }

  it('applies the same HR event once, whether signed, by bearer or over Kafka (seq unchanged, duplicate answers)', async () => {
    const event = termination('hr-same-1', 'same-event-user', ISS);
    const first = await answer(await signed(JSON.stringify(event), 'msg_same_1'));
    expect(first).toMatchObject({ status: 202, body: { duplicate: false } });
    const [stored] = await ruleOf('same-event-user');
    expect(stored).toBeDefined();

    const byBearer = await answer(await postHrEvent(writer, event));
    expect(byBearer).toEqual({
      status: 202,
      body: { ...(first.body as object), duplicate: true },
    });

    const before = await committed();
    await producer.send({
      topic: topics.names.hrEvents,
      messages: [
        {
          key: event.id,
          value: JSON.stringify(event),
          headers: { 'rescind-schema-version': 'v1' },
        },
      ],
    });
    await waitFor('the Kafka copy to be consumed', async () => (await committed()) > before);

    // A signed retry of the first delivery is a duplicate too.
    const retry = await answer(await signed(JSON.stringify(event), 'msg_same_1'));
    expect(retry).toEqual(byBearer);

    expect(await ruleOf('same-event-user')).toEqual([stored]);
    expect(stored!.changes).toBe('1');
    const { rows } = await db.query(
      `SELECT 1 FROM processed_event WHERE source = 'hr' AND event_id = 'hr-same-1'`,
    );
    expect(rows).toHaveLength(1);
  });

  it('applies a webhook whose webhook-id equals an unrelated bearer event id (202 both)', async () => {
    const byBearer = await answer(
      await postHrEvent(writer, termination('shared-id-1', 'bearer-user', ISS)),
    );
    const bySignature = await answer(
      await signed(JSON.stringify(termination('hr-other-1', 'webhook-user', ISS)), 'shared-id-1'),
    );
    expect(byBearer).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(bySignature).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(await ruleOf('bearer-user')).toHaveLength(1);
    expect(await ruleOf('webhook-user')).toHaveLength(1);

    // And the other way round: an event id equal to an earlier webhook-id is its own event.
    const later = await answer(await postHrEvent(writer, termination('msg_same_1', 'later', ISS)));
    expect(later).toMatchObject({ status: 202, body: { duplicate: false } });
  });

  it('refuses the same webhook-id with a different body (409 webhook_replay) and records nothing of it', async () => {
    const original = termination('hr-replay-1', 'replay-original', ISS);
    expect((await signed(JSON.stringify(original), 'msg_replay_1')).status).toBe(202);

    const replay = await signed(
      JSON.stringify(termination('hr-replay-2', 'replay-other', ISS)),
      'msg_replay_1',
    );
    expect(replay.status).toBe(409);
    expect(replay.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await replay.json()) as { code: string; detail: string; retriable: boolean };
    expect(problem).toMatchObject({ code: 'webhook_replay', retriable: false });
    expect(problem.detail).toContain('msg_replay_1');
    expect(await ruleOf('replay-other')).toEqual([]);
    const { rows } = await db.query(`SELECT 1 FROM processed_event WHERE event_id = 'hr-replay-2'`);
    expect(rows).toEqual([]);

    // The refused event itself, under a webhook-id of its own, is applied.
    expect(
      (
        await signed(
          JSON.stringify(termination('hr-replay-2', 'replay-other', ISS)),
          'msg_replay_2',
        )
      ).status,
    ).toBe(202);
  });

  it('records the replay guard in the revocation transaction: a refused delivery leaves none', async () => {
    expect(
      (await postHrEvent(writer, termination('hr-conflict-1', 'conflict-a', ISS))).status,
    ).toBe(202);
    // Same event id, another body: an idempotency conflict, rolled back with its guard.
    const conflict = await signed(
      JSON.stringify(termination('hr-conflict-1', 'conflict-b', ISS)),
      'msg_conflict_1',
    );
    expect(await answer(conflict)).toMatchObject({
      status: 409,
      body: { code: 'idempotency_conflict' },
    });
    const { rows } = await db.query(
      `SELECT 1 FROM webhook_delivery WHERE source = 'hr' AND webhook_id = 'msg_conflict_1'`,
    );
    expect(rows).toEqual([]);
    // So the sender may use the webhook-id for the event it meant.
    const fixed = await signed(
      JSON.stringify(termination('hr-conflict-2', 'conflict-b', ISS)),
      'msg_conflict_1',
    );
    expect(fixed.status).toBe(202);
  });

  it('purges replay guards with the retention of the idempotency records', async () => {
    expect(
      (await signed(JSON.stringify(termination('hr-old-1', 'old-user', ISS)), 'msg_old_1')).status,
    ).toBe(202);
    await db.query(
      `UPDATE webhook_delivery SET received_at = now() - interval '8 days' WHERE webhook_id = 'msg_old_1'`,
    );
    expect(await writer.app.get(IdempotencyRetention).purgeAll()).toBe(1);
    const { rows } = await db.query<{ webhook_id: string }>(
      `SELECT webhook_id FROM webhook_delivery WHERE webhook_id = ANY($1)`,
      [['msg_old_1', 'msg_replay_1']],
    );
    expect(rows).toEqual([{ webhook_id: 'msg_replay_1' }]);
  });
});
