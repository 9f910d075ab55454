import type { RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import { type CatalogueEntry, eventCatalogue, LEAKED_TOKEN } from '../support/event-catalogue';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { signWebhook } from '../support/webhook-signing';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const secret = (n: number): string => `whsec_${Buffer.alloc(32, n).toString('base64')}`;
const SECRETS = { hr: secret(1), idp: secret(2), siem: secret(3) };

describe('POST /v1/events/{hr|idp|siem}', () => {
  const topics = testTopics('sourceevents');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let consumer: RevocationConsumer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    env = await startWriterEnvironment('sources', {
      topics,
      consumer: true,
      config: {
        WEBHOOK_SOURCES: 'hr,idp,siem',
        WEBHOOK_SECRET_HR: SECRETS.hr,
        WEBHOOK_SECRET_IDP: SECRETS.idp,
        WEBHOOK_SECRET_SIEM: SECRETS.siem,
        HR_EMPLOYEE_DIRECTORY: JSON.stringify({
          'E-1001': { subject: 'mapped-subject', iss: 'https://idp.example.com' },
        }),
      },
    });
    ({ writer, db, consumer } = env);
    for (const role of ['hr', 'idp', 'siem'] as const) {
      tokens[role] = await env.token(`${role}-system`, role);
    }
  });

  afterAll(() => env?.close());

  function bearer(source: string, body: unknown, token = tokens[source]!): Promise<Response> {
    return fetch(`${writer.url}/v1/events/${source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  }

  function signed(
    source: 'hr' | 'idp' | 'siem',
    raw: string,
    options: { id?: string; timestamp?: number; signature?: string; contentType?: string } = {},
  ): Promise<Response> {
    const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return fetch(`${writer.url}/v1/events/${source}`, {
      method: 'POST',
      headers: {
        'content-type': options.contentType ?? 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': options.signature ?? signWebhook(id, timestamp, raw, SECRETS[source]),
      },
      body: raw,
    });
  }

  async function expectRevoked(entry: CatalogueEntry): Promise<void> {
    const decision = await waitFor(
      `${entry.source} ${String(entry.event.type)} at the consumer`,
      () => {
        const d = consumer.check(entry.token);
        return d.revoked ? d : undefined;
      },
    );
    expect(decision.rule).toMatchObject(entry.rule);
  }

  describe.each([
    ['a bearer API credential', 'bearer'],
    ['a signed webhook', 'webhook'],
  ])('over %s', (_, transport) => {
    it.each(
      eventCatalogue(`cat-${transport}`, transport).map(
        (e) => [e.source, e.event.type, e] as const,
      ),
    )('%s %s reaches the deny-list as the right rule', async (source, _type, entry) => {
      const response =
        transport === 'bearer'
          ? await bearer(source, entry.event)
          : await signed(source, JSON.stringify(entry.event));
      expect(response.status).toBe(202);
      await expectRevoked(entry);
    });
  });

  it('never stores a leaked raw token, only its hash', async () => {
    const { rows } = await db.query<{ hit: string }>(
      `SELECT 'rule' AS hit FROM revocation_rule WHERE value LIKE '%' || $1 || '%'
       UNION ALL SELECT 'audit' FROM audit_log WHERE before::text LIKE '%' || $1 || '%' OR after::text LIKE '%' || $1 || '%' OR reason LIKE '%' || $1 || '%'
       UNION ALL SELECT 'outbox' FROM outbox WHERE payload::text LIKE '%' || $1 || '%'
       UNION ALL SELECT 'idempotency' FROM processed_event WHERE result::text LIKE '%' || $1 || '%' OR event_id LIKE '%' || $1 || '%'`,
      [LEAKED_TOKEN],
    );
    const { rows: hashed } = await db.query(
      `SELECT 1 FROM revocation_rule WHERE claim = 'token_hash'`,
    );
    expect(hashed.length).toBeGreaterThan(0);
    expect(rows).toEqual([]);
  });

  it('records severity and playbook of SIEM events in the audit log', async () => {
    const { rows } = await db.query<{ reason: string }>(
      `SELECT reason FROM audit_log WHERE source = 'siem' AND reason LIKE 'siem credential.compromised%' LIMIT 1`,
    );
    expect(rows[0]?.reason).toBe('siem credential.compromised (severity high, playbook pb-7)');
  });

  it('maps an HR employee id through the directory, and refuses an unknown one', async () => {
    const at = new Date().toISOString();
    const mapped = await bearer('hr', {
      id: 'dir-1',
      type: 'employee.terminated',
      occurredAt: at,
      employeeId: 'E-1001',
    });
    expect(mapped.status).toBe(202);
    await waitFor(
      'the mapped subject revoked',
      () =>
        consumer.check({ sub: 'mapped-subject', iss: 'https://idp.example.com', iat: 0 }).revoked,
    );
    const unknown = await bearer('hr', {
      id: 'dir-2',
      type: 'employee.terminated',
      occurredAt: at,
      employeeId: 'E-404',
    });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ code: 'unknown_employee' });
  });

  it('accepts a routine key rotation without revoking anything', async () => {
    const response = await bearer('idp', {
      id: 'rotation-1',
      type: 'signing_key.rotated',
      occurredAt: new Date().toISOString(),
      kid: 'routine-key',
      compromised: false,
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      revocationId: null,
      seq: null,
      duplicate: false,
      rules: [],
    });
    const { rowCount } = await db.query(
      `SELECT 1 FROM revocation_rule WHERE value = 'routine-key'`,
    );
    expect(rowCount).toBe(0);
  });

  it("refuses a source's events from another source's credential (403), and unknown sources (404)", async () => {
    const keyEvent = {
      id: 'x-1',
      type: 'key.compromised',
      occurredAt: new Date().toISOString(),
      severity: 'low',
      kid: 'k',
    };
    const response = await bearer('siem', keyEvent, tokens.hr);
    expect(response.status).toBe(403);
    expect((await bearer('crm', keyEvent, tokens.hr)).status).toBe(404);
  });

  describe('Standard Webhooks verification', () => {
    const body = (id: string): string =>
      JSON.stringify({
        id,
        type: 'employee.terminated',
        occurredAt: new Date().toISOString(),
        subject: 'webhook-user',
      });

    // A minute beyond the 300 s tolerance: the second-resolution timestamp and the time the
    // request takes under load must not carry it back inside (the exact edge, 301 s with a pinned
    // clock, is webhook-signature.spec.ts's).
    it.each([
      ['a wrong secret', { offset: 0, wrongSecret: true }],
      ['a stale timestamp', { offset: -360, wrongSecret: false }],
      ['a future timestamp', { offset: 360, wrongSecret: false }],
    ])('refuses %s with 401', async (_, { offset, wrongSecret }) => {
      const raw = body(`wh-${offset}-${String(wrongSecret)}`);
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      const signature = signWebhook('msg_x', timestamp, raw, wrongSecret ? secret(9) : SECRETS.hr);
      const response = await signed('hr', raw, { id: 'msg_x', timestamp, signature });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'invalid_webhook_signature' });
    });

    it('refuses a signature over re-serialised JSON (verification is over the raw bytes)', async () => {
      const raw = body('wh-reserialised');
      const timestamp = Math.floor(Date.now() / 1000);
      const reserialised = JSON.stringify(JSON.parse(raw), null, 2);
      const response = await signed('hr', raw, {
        id: 'msg_r',
        timestamp,
        signature: signWebhook('msg_r', timestamp, reserialised, SECRETS.hr),
      });
      expect(response.status).toBe(401);
    });

    it('treats a replayed webhook id as the same delivery', async () => {
      const raw = body('wh-replay');
      const first = await signed('hr', raw, { id: 'msg_replay' });
      const again = await signed('hr', raw, { id: 'msg_replay' });
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ duplicate: true });
    });

    it('accepts two signatures during a secret rotation', async () => {
      const raw = body('wh-rotation');
      const timestamp = Math.floor(Date.now() / 1000);
      const both = `${signWebhook('msg_rot', timestamp, raw, secret(8))} ${signWebhook('msg_rot', timestamp, raw, SECRETS.hr)}`;
      expect((await signed('hr', raw, { id: 'msg_rot', timestamp, signature: both })).status).toBe(
        202,
      );
    });

    it('answers 400 without the webhook-id and webhook-timestamp headers', async () => {
      const response = await fetch(`${writer.url}/v1/events/hr`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,AAAA' },
        body: body('wh-headers'),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'malformed_webhook' });
    });

    it('answers 413 for an oversized body and 415 for another content type', async () => {
      const big = JSON.stringify({ id: 'wh-big', padding: 'x'.repeat(70_000) });
      expect((await signed('hr', big)).status).toBe(413);
      const form = 'id=wh-form';
      expect(
        (await signed('hr', form, { contentType: 'application/x-www-form-urlencoded' })).status,
      ).toBe(415);
    });
  });
});
