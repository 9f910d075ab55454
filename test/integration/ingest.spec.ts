import type { Client } from 'pg';
import { rowCounts } from '../support/postgres';
import type { TcpProxy } from '../../tools/net/tcp-proxy';
import { sampleValue } from '../support/prometheus';
import { waitFor } from '../support/wait-for';
import { INGEST_TOKEN, postHrEvent, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

function termination(id: string, subject = 'alice', extra: Record<string, unknown> = {}) {
  return { id, type: 'employee.terminated', occurredAt: '2026-11-20T10:00:00Z', subject, ...extra };
}

describe('POST /v1/events/hr', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;

  beforeAll(async () => {
    env = await startWriterEnvironment('ingest');
    ({ writer, db } = env);
  });

  afterAll(() => env?.close());

  describe('persistence and idempotency', () => {
    it('commits one rule, one audit record and one outbox row, then answers 202', async () => {
      const before = Date.now();
      // A role change: "up to now", with an expiry (a termination blocks until reinstated).
      const response = await postHrEvent(
        writer,
        termination('evt-commit', 'commit-user', { type: 'employee.role_changed' }),
      );
      const after = Date.now();
      expect(response.status).toBe(202);
      const body = (await response.json()) as {
        revocationId: string;
        seq: number;
        duplicate: boolean;
      };
      expect(body).toEqual({
        revocationId: expect.any(String),
        seq: expect.any(Number),
        duplicate: false,
        rules: [{ revocationId: body.revocationId, key: 'sub::commit-user', seq: body.seq }],
      });

      const { rows: rules } = await db.query(
        `SELECT id, rule_key, claim, value, iss, revoked_before, expires_at, seq FROM revocation_rule WHERE value = 'commit-user'`,
      );
      expect(rules).toHaveLength(1);
      const rule = rules[0] as {
        id: string;
        rule_key: string;
        revoked_before: Date;
        expires_at: Date;
        seq: string;
      };
      expect(rule).toMatchObject({
        id: body.revocationId,
        rule_key: 'sub::commit-user',
        claim: 'sub',
        iss: null,
      });
      expect(Number(rule.seq)).toBe(body.seq);
      // revokedBefore is the server's receive time, not the event's occurredAt.
      expect(rule.revoked_before.getTime()).toBeGreaterThanOrEqual(before);
      expect(rule.revoked_before.getTime()).toBeLessThanOrEqual(after);
      expect(rule.expires_at.getTime() - rule.revoked_before.getTime()).toBe(86_400_000);

      const { rows: outbox } = await db.query(
        `SELECT topic_key, payload FROM outbox WHERE seq = $1`,
        [body.seq],
      );
      expect(outbox).toEqual([
        {
          topic_key: 'sub::commit-user',
          payload: expect.objectContaining({
            type: 'rule.set',
            seq: body.seq,
            revocationId: body.revocationId,
          }),
        },
      ]);
      const { rows: audit } = await db.query(
        `SELECT actor, action, source, source_event_id, reason, before, after FROM audit_log WHERE seq = $1`,
        [body.seq],
      );
      expect(audit).toEqual([
        expect.objectContaining({
          actor: 'ingest-bearer-token',
          action: 'rule.set',
          source: 'hr',
          source_event_id: 'evt-commit',
          before: null,
          after: expect.objectContaining({ key: 'sub::commit-user', seq: body.seq }),
        }),
      ]);
    });

    it('answers a repeated event id with the first answer and duplicate: true, writing nothing', async () => {
      const first = await postHrEvent(writer, termination('evt-dup', 'dup-user'));
      expect(first.status).toBe(202);
      const firstBody = (await first.json()) as Record<string, unknown>;
      const before = await rowCounts(db);

      // Same content, other key order and whitespace: the same event.
      const again = await postHrEvent(
        writer,
        `{ "subject": "dup-user", "occurredAt": "2026-11-20T10:00:00Z", "type": "employee.terminated", "id": "evt-dup" }`,
      );
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ ...firstBody, duplicate: true });
      expect(await rowCounts(db)).toEqual(before);
    });

    it('answers 409 when the same id arrives with a different body, and writes nothing', async () => {
      expect((await postHrEvent(writer, termination('evt-conflict', 'conflict-a'))).status).toBe(
        202,
      );
      const before = await rowCounts(db);
      const response = await postHrEvent(writer, termination('evt-conflict', 'conflict-b'));
      expect(response.status).toBe(409);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status: 409, code: 'idempotency_conflict' });
      expect(await rowCounts(db)).toEqual(before);
    });

    it('treats concurrent deliveries of one event as one', async () => {
      const before = await rowCounts(db);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => postHrEvent(writer, termination('evt-race', 'race-user'))),
      );
      const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{
        seq: number;
        duplicate: boolean;
      }>;
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
      expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
      expect(new Set(bodies.map((b) => b.seq)).size).toBe(1);
      const after = await rowCounts(db);
      expect(after).toEqual({
        rules: before.rules + 1,
        outbox: before.outbox + 1,
        audit: before.audit + 1,
        events: before.events + 1,
      });
    });

    it('gives every change of one rule a higher seq, even under concurrency', async () => {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          postHrEvent(
            writer,
            termination(`evt-seq-${i}`, 'seq-user', { type: 'employee.role_changed' }),
          ),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
      const { rows: rule } = await db.query<{ seq: string; revoked_before: Date }>(
        `SELECT seq, revoked_before FROM revocation_rule WHERE rule_key = 'sub::seq-user'`,
      );
      const { rows: outbox } = await db.query<{
        seq: string;
        payload: { rule: { revokedBefore: number } };
      }>(`SELECT seq, payload FROM outbox WHERE topic_key = 'sub::seq-user' ORDER BY seq`);
      expect(outbox).toHaveLength(20);
      // The stored rule is the one with the highest seq, and revokedBefore never went down.
      expect(rule[0]!.seq).toBe(outbox[outbox.length - 1]!.seq);
      const revokedBefore = outbox.map((o) => o.payload.rule.revokedBefore);
      expect(revokedBefore).toEqual([...revokedBefore].sort((a, b) => a - b));
      expect(rule[0]!.revoked_before.getTime()).toBe(revokedBefore[revokedBefore.length - 1]);
      // Each audit record's "before" is the version the previous change wrote.
      const { rows: audit } = await db.query<{
        before: { seq: number } | null;
        after: { seq: number };
      }>(`SELECT before, after FROM audit_log WHERE rule_key = 'sub::seq-user' ORDER BY seq`);
      for (let i = 1; i < audit.length; i++) {
        expect(audit[i]!.before!.seq).toBe(audit[i - 1]!.after.seq);
      }
    });
  });

  describe('metrics', () => {
    it('serves ingest outcomes, outbox backlog and publish latency for Prometheus', async () => {
      expect((await postHrEvent(writer, termination('evt-metrics', 'metrics-user'))).status).toBe(
        202,
      );
      expect((await postHrEvent(writer, termination('evt-metrics', 'metrics-user'))).status).toBe(
        202,
      );
      const text = await waitFor('a published message to be measured', async () => {
        const body = await (await fetch(`${writer.url}/metrics`)).text();
        return /rescind_outbox_publish_latency_seconds_count\S* [1-9]/.test(body)
          ? body
          : undefined;
      });
      expect(text).toMatch(
        /rescind_events_ingested_total\{source="hr",outcome="accepted"[^}]*\} [1-9]/,
      );
      expect(text).toMatch(
        /rescind_events_ingested_total\{source="hr",outcome="duplicate"[^}]*\} [1-9]/,
      );
      expect(text).toMatch(/rescind_outbox_pending\{[^}]*\} \d+/);
      expect(text).toMatch(/rescind_outbox_oldest_age_seconds\{[^}]*\} \d+/);
      // Seconds: a publish on this machine takes milliseconds, so nearly all of it is under 1 s.
      const count = Number(
        /^rescind_outbox_publish_latency_seconds_count\S* (\d+)$/m.exec(text)![1],
      );
      const underOne = Number(
        /^rescind_outbox_publish_latency_seconds_bucket\{[^}]*le="1"[^}]*\} (\d+)$/m.exec(text)![1],
      );
      expect(underOne).toBe(count);
      expect(text).not.toMatch(/^# UNIT \S+ ms$/m);
    });

    it('counts answered requests by route and status, the refusals of the guards included', async () => {
      const refused = await fetch(`${writer.url}/v1/events/hr`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(termination('evt-unauthenticated', 'nobody')),
      });
      expect(refused.status).toBe(401);
      await refused.arrayBuffer();
      expect((await postHrEvent(writer, termination('evt-counted', 'counted-user'))).status).toBe(
        202,
      );
      const text = await (await fetch(`${writer.url}/metrics`)).text();
      const requests = (status: number) =>
        sampleValue(text, 'rescind_http_requests_total', {
          method: 'POST',
          route: '/v1/events/:source',
          status: String(status),
        });
      expect(requests(401)).toBeGreaterThanOrEqual(1);
      expect(requests(202)).toBeGreaterThanOrEqual(1);
      // The pattern, never the path: no event source, id or token in a label.
      expect(text).not.toMatch(/route="\/v1\/events\/hr"/);
      expect(text).toMatch(
        /^rescind_http_request_duration_seconds_count\{(?=[^}]*route="\/v1\/events\/:source")(?=[^}]*status_class="4xx")[^}]*\} [1-9]/m,
      );
    });

    it('names its service and instance in target_info, and measures its process and runtime', async () => {
      const text = await (await fetch(`${writer.url}/metrics`)).text();
      const target = /^target_info\{([^}]*)\} 1$/m.exec(text)?.[1] ?? '';
      expect(target).toMatch(/(^|,)service_name="rescind-writer"(,|$)/);
      expect(target).toMatch(/(^|,)service_instance_id="[0-9a-f-]{36}"(,|$)/);
      expect(text).toMatch(/^process_cpu_time_total\{[^}]*\} [\d.]+$/m);
      expect(text).toMatch(/^process_memory_usage\{[^}]*\} [1-9]\d*$/m);
      expect(text).toMatch(/^nodejs_eventloop_utilization\{[^}]*\} [\d.e-]+$/m);
    });
  });

  describe('request ids', () => {
    const post = (requestId?: string) =>
      fetch(`${writer.url}/v1/events/hr`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${INGEST_TOKEN}`,
          ...(requestId !== undefined && { 'x-request-id': requestId }),
        },
        body: JSON.stringify(termination(`evt-rid-${Math.random()}`, 'rid-user')),
      });

    it("echoes the caller's X-Request-Id, so a playbook's call can be followed into the log", async () => {
      const response = await post('soar-run-42:step.3');
      expect(response.status).toBe(202);
      expect(response.headers.get('x-request-id')).toBe('soar-run-42:step.3');
    });

    it('gives a request without one, or with one that could forge a log line, a fresh UUID', async () => {
      for (const given of [undefined, 'two words', 'x'.repeat(129)]) {
        const response = await post(given);
        expect(response.headers.get('x-request-id')).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
      }
    });
  });

  describe('atomicity', () => {
    it('writes nothing at all when one part of the transaction fails', async () => {
      // Occupy the outbox slot the next change will draw, so its outbox insert fails.
      const { rows } = await db.query<{ next: string }>(`SELECT nextval('rule_seq') + 1 AS next`);
      const blocked = rows[0]!.next;
      await db.query(
        `INSERT INTO outbox (seq, topic_key, payload, published_at) VALUES ($1, 'blocker', '{}', now())`,
        [blocked],
      );
      const before = await rowCounts(db);

      // The outbox's primary key refuses the row (SQLSTATE 23505): a conflict, never a 500.
      const failed = await postHrEvent(writer, termination('evt-atomic', 'atomic-user'));
      expect(failed.status).toBe(409);
      expect(await failed.json()).toMatchObject({ code: 'storage_conflict', retriable: false });
      const after = await rowCounts(db);
      expect(after).toEqual(before);
      const { rowCount } = await db.query(
        `SELECT 1 FROM revocation_rule WHERE value = 'atomic-user'`,
      );
      expect(rowCount).toBe(0);

      await db.query(`DELETE FROM outbox WHERE seq = $1`, [blocked]);
      const retried = await postHrEvent(writer, termination('evt-atomic', 'atomic-user'));
      expect(retried.status).toBe(202);
      expect(((await retried.json()) as { duplicate: boolean }).duplicate).toBe(false);
    });

    it('never leaves an outbox row without its rule version, nor a rule without its outbox row', async () => {
      const { rows: orphans } = await db.query(
        `SELECT 'rule without outbox' AS problem, r.rule_key FROM revocation_rule r
           WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = r.seq)
         UNION ALL
         SELECT 'outbox without audit', o.topic_key FROM outbox o
           WHERE o.topic_key <> 'blocker'
             AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.seq = o.seq AND a.rule_key = o.topic_key)`,
      );
      const { rows: total } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox`);
      expect(Number(total[0]!.n)).toBeGreaterThan(20);
      expect(orphans).toEqual([]);
    });

    it('keeps the audit log append-only, even for the table owner', async () => {
      await expect(db.query(`UPDATE audit_log SET reason = 'tampered'`)).rejects.toThrow(
        /append-only/,
      );
      await expect(db.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    });
  });

  describe('bad input gets a precise RFC 9457 answer', () => {
    async function problem(response: Response) {
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return (await response.json()) as {
        status: number;
        code: string;
        detail: string;
        errors?: unknown[];
      };
    }

    it('422 names the missing and the invalid fields', async () => {
      const response = await postHrEvent(writer, {
        id: 'evt-422',
        type: 'employee.terminated',
        occurredAt: 'yesterday',
      });
      expect(response.status).toBe(422);
      const body = await problem(response);
      expect(body.code).toBe('invalid_event');
      expect(body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ pointer: '/subject' }),
          expect.objectContaining({ pointer: '/occurredAt' }),
        ]),
      );
    });

    it('422 for an unknown event type, naming /type', async () => {
      const response = await postHrEvent(
        writer,
        termination('evt-type', 'x', { type: 'employee.hired' }),
      );
      expect(response.status).toBe(422);
      expect((await problem(response)).errors).toEqual([
        expect.objectContaining({ pointer: '/type' }),
      ]);
    });

    it('400 for malformed JSON', async () => {
      const response = await postHrEvent(writer, '{"id": "evt-400",');
      expect(response.status).toBe(400);
      expect((await problem(response)).detail).toMatch(/JSON/);
    });

    it('413 for a body over the size cap, before parsing', async () => {
      const response = await postHrEvent(
        writer,
        termination('evt-413', 'x', { padding: 'x'.repeat(70_000) }),
      );
      expect(response.status).toBe(413);
      expect((await problem(response)).status).toBe(413);
    });

    it('415 for a body that is not JSON', async () => {
      const response = await postHrEvent(writer, 'id=evt-415', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(response.status).toBe(415);
      expect((await problem(response)).code).toBe('unsupported_media_type');
    });

    it.each([
      ['no Authorization header', {}],
      ['a wrong bearer token', { authorization: `Bearer ${INGEST_TOKEN}x` }],
      [
        'another scheme',
        { authorization: `Basic ${Buffer.from(`a:${INGEST_TOKEN}`).toString('base64')}` },
      ],
    ])('401 with %s, and writes nothing', async (_, headers: Record<string, string>) => {
      const before = await rowCounts(db);
      const response = await fetch(`${writer.url}/v1/events/hr`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(termination('evt-401', 'intruder')),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await problem(response)).code).toBe('unauthenticated');
      expect(await rowCounts(db)).toEqual(before);
    });
  });
});

describe('POST /v1/events/hr while PostgreSQL is unreachable', () => {
  let env: WriterEnvironment;
  let proxy: TcpProxy;
  let writer: RunningWriter;

  beforeAll(async () => {
    env = await startWriterEnvironment('pgdown', { postgresProxy: true });
    ({ postgresProxy: proxy, writer } = env);
  });

  afterAll(() => env?.close());

  it('answers 503 with Retry-After, never 2xx, and accepts again once PostgreSQL is back', async () => {
    proxy.cut();
    const refused = await postHrEvent(writer, termination('evt-503', 'pgdown-user'));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'storage_unavailable', retriable: true });
    expect((await fetch(`${writer.url}/health/ready`)).status).toBe(503);

    proxy.restore();
    const accepted = await postHrEvent(writer, termination('evt-503', 'pgdown-user'));
    expect(accepted.status).toBe(202);
    expect(((await accepted.json()) as { duplicate: boolean }).duplicate).toBe(false);
    expect((await fetch(`${writer.url}/health/ready`)).status).toBe(200);
  });
});
