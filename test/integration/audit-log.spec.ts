import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import {
  type AuditEntry,
  AuditEntrySchema,
  type AuditPage,
  AuditPageSchema,
} from '../../apps/revocation-writer/src/audit/audit.dto';
import type { CreatedRevocation } from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { RulePruner } from '../../apps/revocation-writer/src/write-path/rule-pruner';
import { call, hoursAgo, type OperatorHarness, startOperatorHarness } from '../support/operator';
import { postHrEvent } from '../support/writer';

const ISS = 'https://idp.example.com';
const REVOKED_BEFORE = hoursAgo(1);
const LOWERED_TO = hoursAgo(2);

/** `GET /v1/audit`: who did what, why, when, from which event; as pages and as NDJSON. */
describe('GET /v1/audit', () => {
  let h: OperatorHarness;
  let created: CreatedRevocation;
  let lowered: string;
  let hrRuleKey: string;

  const read = (query: string, headers: Record<string, string> = {}, token = h.tokens.reader) =>
    call<AuditPage & ProblemDetails>(h.writer, 'GET', `/v1/audit${query}`, { token, headers });

  async function wholeLog(): Promise<AuditEntry[]> {
    const response = await read('?limit=500');
    return AuditPageSchema.parse(response.body).items;
  }

  function parseNdjson(text: string): AuditEntry[] {
    expect(text.endsWith('\n')).toBe(true);
    return text
      .slice(0, -1)
      .split('\n')
      .map((line) => AuditEntrySchema.parse(JSON.parse(line)));
  }

  beforeAll(async () => {
    h = await startOperatorHarness('opaudit');
    const operator = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.operator,
      headers: { 'idempotency-key': 'ticket-100' },
      body: {
        rules: [
          { claim: 'sub', value: 'audit-alice', iss: ISS, revokedBefore: REVOKED_BEFORE },
          { claim: 'jti', value: 'audit-tok' },
          { claim: 'sub', value: 'audit-old', revokedBefore: '2020-01-01T00:00:00Z' },
        ],
        reason: 'phishing campaign (INC-100)',
      },
    });
    if (operator.status !== 201) {
      throw new Error(`fixture: revocation answered ${operator.status}`);
    }
    created = operator.body;
    const hr = await postHrEvent(h.writer, {
      id: 'audit-hr-1',
      type: 'employee.terminated',
      occurredAt: '2026-11-20T10:00:00Z',
      subject: 'audit-bob',
    });
    if (hr.status !== 202) {
      throw new Error(`fixture: HR event answered ${hr.status}`);
    }
    hrRuleKey = ((await hr.json()) as { rules: Array<{ key: string }> }).rules[0]!.key;
    const [alice, tok] = created.rules;
    lowered = alice!.id;
    for (const [id, body] of [
      [alice!.id, { reason: 'only before the campaign started', revokedBefore: LOWERED_TO }],
      [tok!.id, { reason: 'false positive' }],
    ] as const) {
      const response = await call(h.writer, 'POST', `/v1/revocations/${id}/reinstate`, {
        token: h.tokens.admin,
        body,
      });
      if (response.status !== 200) {
        throw new Error(`fixture: reinstatement answered ${response.status}`);
      }
    }
    await h.writer.app.get(RulePruner).pruneAll(); // expires audit-old
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('records who, what, why, when and from which event, newest first', async () => {
    const log = await wholeLog();
    expect(log.map((e) => [e.action, e.after?.value])).toEqual([
      ['rule.expired', 'audit-old'],
      ['rule.reinstated', 'audit-tok'],
      ['rule.lowered', 'audit-alice'],
      ['rule.set', 'audit-bob'],
      ['rule.set', 'audit-old'],
      ['rule.set', 'audit-tok'],
      ['rule.set', 'audit-alice'],
    ]);
    const ids = log.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const [expired, reinstated, lower, hr, , , set] = log as [AuditEntry, ...AuditEntry[]];
    expect(set).toMatchObject({
      actor: h.actors.operator,
      actorName: 'opaudit-operator',
      actorRole: 'operator',
      action: 'rule.set',
      reason: 'phishing campaign (INC-100)',
      source: 'operator',
      sourceEventId: 'ticket-100',
      revocationId: created.rules[0]!.id,
      ruleKey: created.rules[0]!.key,
      seq: created.rules[0]!.seq,
      before: null,
      after: created.rules[0],
    });
    expect(Date.parse(set!.recordedAt)).toBeLessThanOrEqual(Date.now());
    expect(set!.occurredAt).toEqual(expect.any(String));
    expect(hr).toMatchObject({
      actor: 'ingest-bearer-token',
      actorName: null,
      actorRole: 'hr',
      source: 'hr',
      sourceEventId: 'audit-hr-1',
      occurredAt: '2026-11-20T10:00:00.000Z',
      ruleKey: hrRuleKey,
    });
    expect(lower).toMatchObject({
      actor: h.actors.admin,
      actorRole: 'admin',
      reason: 'only before the campaign started',
      before: expect.objectContaining({ revokedBefore: REVOKED_BEFORE, status: 'active' }),
      after: expect.objectContaining({ revokedBefore: LOWERED_TO, status: 'active' }),
    });
    expect(lower!.seq).toBe(lower!.after!.seq);
    expect(reinstated).toMatchObject({
      action: 'rule.reinstated',
      reason: 'false positive',
      after: expect.objectContaining({ status: 'reinstated' }),
    });
    expect(expired).toMatchObject({ actor: 'system:pruner', actorRole: null, source: 'system' });
  });

  it.each<[string, (e: AuditEntry, ctx: { operator: string; lowered: string }) => boolean]>([
    ['actor', (e, c) => e.actor === c.operator],
    ['action=rule.set', (e) => e.action === 'rule.set'],
    ['source=hr', (e) => e.source === 'hr'],
    ['sourceEventId=ticket-100', (e) => e.sourceEventId === 'ticket-100'],
    ['revocationId', (e, c) => e.revocationId === c.lowered],
    ['ruleKey', (e) => e.ruleKey === 'jti::audit-tok'],
    ['action=rule.set&source=operator', (e) => e.action === 'rule.set' && e.source === 'operator'],
  ])('filters by %s', async (filter, matches) => {
    const ctx = { operator: h.actors.operator, lowered };
    const query =
      {
        actor: `actor=${ctx.operator}`,
        revocationId: `revocationId=${lowered}`,
        ruleKey: `ruleKey=${encodeURIComponent('jti::audit-tok')}`,
      }[filter] ?? filter;
    const log = await wholeLog();
    const expected = log.filter((e) => matches(e, ctx));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(log.length);
    const response = await read(`?${query}&limit=500`);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual(expected);
  });

  it('filters by recordedAt: from inclusive, to exclusive', async () => {
    const log = await wholeLog();
    const instants = [...new Set(log.map((e) => e.recordedAt))].sort();
    const [, from, to] = instants as [string, string, string];
    const response = await read(`?from=${from}&to=${to}&limit=500`);
    const expected = log.filter((e) => e.recordedAt >= from && e.recordedAt < to);
    expect(expected.length).toBeGreaterThan(0);
    expect(response.body.items).toEqual(expected);
  });

  it('pages with a cursor: every entry once, none missing', async () => {
    const log = await wholeLog();
    const seen: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const response = await read(`?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items);
      cursor = response.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(log);
  });

  describe('NDJSON export for SIEM ingestion', () => {
    it('streams every entry with Accept: application/x-ndjson, one JSON object per line, oldest first', async () => {
      const log = await wholeLog();
      const response = await read('', { accept: 'application/x-ndjson' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const lines = parseNdjson(response.body as unknown as string);
      expect(lines).toEqual([...log].reverse());
    });

    it('applies the filters with ?format=ndjson', async () => {
      const response = await read(`?format=ndjson&action=rule.set&source=operator`);
      expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const lines = parseNdjson(response.body as unknown as string);
      expect(lines.map((e) => e.after?.value)).toEqual(['audit-alice', 'audit-tok', 'audit-old']);
    });

    it('answers an empty body when nothing matches', async () => {
      const response = await read(`?format=ndjson&sourceEventId=nothing-like-this`);
      expect(response.status).toBe(200);
      expect(response.body).toBe('');
    });

    it('exports a log larger than one batch completely, in order, each entry once', async () => {
      const bulk = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
        token: h.tokens.admin,
        body: {
          rules: Array.from({ length: 1100 }, (_, i) => ({ claim: 'jti', value: `b${i}` })),
          reason: 'bulk',
          confirm: true,
        },
      });
      expect(bulk.status).toBe(201);
      const { rows } = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`);
      const response = await read('?format=ndjson');
      const lines = parseNdjson(response.body as unknown as string);
      expect(lines).toHaveLength(rows[0]!.n);
      expect(lines.length).toBeGreaterThan(1100);
      const ids = lines.map((e) => e.id);
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
      expect(lines.slice(-1100).map((e) => e.after?.value)).toEqual(
        Array.from({ length: 1100 }, (_, i) => `b${i}`),
      );
    });
  });

  it.each([
    ['action=rule.deleted', 'action'],
    ['revocationId=nope', 'revocationId'],
    ['limit=0', 'limit'],
    ['to=2026-13-01T00:00:00Z', 'to'],
    ['format=csv', 'format'],
  ])('answers 400 invalid_query for %s', async (query, parameter) => {
    const response = await read(`?${query}`);
    expect([response.status, response.body.code]).toEqual([400, 'invalid_query']);
    expect(response.body.detail).toContain(`${parameter}:`);
  });

  it('needs the read permission', async () => {
    expect((await read('?limit=1', {}, h.tokens.operator)).status).toBe(200);
    const refused = await read('?limit=1', {}, h.tokens.hr);
    expect([refused.status, refused.body.code]).toEqual([403, 'forbidden']);
    const ndjson = await read('?format=ndjson', {}, h.tokens.idp);
    expect(ndjson.status).toBe(403);
  });

  it('offers no way to change the log', async () => {
    const { rows: before } = await h.db.query(`SELECT count(*)::int AS n FROM audit_log`);
    for (const method of ['DELETE', 'PUT', 'PATCH'] as const) {
      const response = await call(h.writer, method, '/v1/audit', {
        token: h.tokens.admin,
        body: method === 'DELETE' ? undefined : {},
      });
      expect([method, response.status]).toEqual([method, 404]);
    }
    const { rows: after } = await h.db.query(`SELECT count(*)::int AS n FROM audit_log`);
    expect(after).toEqual(before);
  });
});
