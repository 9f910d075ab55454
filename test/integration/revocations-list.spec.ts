import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import {
  type CreatedRevocation,
  type RulePage,
  RulePageSchema,
  type RuleResource,
  RuleResourceSchema,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { RulePruner } from '../../apps/revocation-writer/src/write-path/rule-pruner';
import { call, type OperatorHarness, startOperatorHarness } from '../support/operator';
import { postHrEvent } from '../support/writer';

const ISS_A = 'https://a.example';
const ISS_B = 'https://b.example';

/** `GET /v1/revocations` and `GET /v1/revocations/{id}`: filters, keyset pagination, 404s. */
describe('GET /v1/revocations', () => {
  let h: OperatorHarness;
  /** Every rule of this file, by value, as the API showed it last. */
  const created = new Map<string, RuleResource>();

  const list = (query: string, token = h.tokens.reader) =>
    call<RulePage & ProblemDetails>(h.writer, 'GET', `/v1/revocations${query}`, { token });

  async function revoke(
    rules: Array<Record<string, unknown>>,
    extra: Record<string, unknown> = {},
  ): Promise<RuleResource[]> {
    const response = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.admin,
      body: { rules, reason: 'listing fixture', ...extra },
    });
    if (response.status !== 201) {
      throw new Error(`fixture: revocation answered ${response.status}`);
    }
    for (const rule of response.body.rules) {
      created.set(rule.value, rule);
    }
    return response.body.rules;
  }

  /** Follows nextCursor to the end; fails on a repeated item. */
  async function everyPage(
    query: string,
    limit: number,
    between?: (page: number) => Promise<void>,
  ) {
    const seen: RuleResource[] = [];
    let cursor: string | null = null;
    for (let page = 0; ; page++) {
      const response = await list(
        `?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(response.status).toBe(200);
      const body = RulePageSchema.parse(response.body);
      expect(body.items.length).toBeLessThanOrEqual(limit);
      seen.push(...body.items);
      cursor = body.nextCursor;
      if (cursor === null) {
        break;
      }
      await between?.(page);
    }
    expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
    return seen;
  }

  beforeAll(async () => {
    h = await startOperatorHarness('oplist');
    await revoke([
      { claim: 'sub', value: 'list-alice', iss: ISS_A },
      { claim: 'sub', value: 'list-bob', iss: ISS_B },
      { claim: 'jti', value: 'list-tok-1' },
      { claim: 'client_id', value: 'list-app', iss: ISS_A },
      { claim: 'sid', value: 'list-session' },
    ]);
    // Another source: an HR event, through the ingest endpoint.
    const hr = await postHrEvent(h.writer, {
      id: 'list-hr-1',
      type: 'employee.terminated',
      occurredAt: '2026-11-20T10:00:00Z',
      subject: 'list-carol',
      iss: ISS_B,
    });
    if (hr.status !== 202) {
      throw new Error(`fixture: HR event answered ${hr.status}`);
    }
    // One reinstated, one expired (its tokens all expired long ago).
    const [reinstated] = await revoke([{ claim: 'sub', value: 'list-reinstated' }]);
    const removed = await call<RuleResource>(
      h.writer,
      'POST',
      `/v1/revocations/${reinstated!.id}/reinstate`,
      {
        token: h.tokens.admin,
        body: { reason: 'wrong person' },
      },
    );
    if (removed.status !== 200) {
      throw new Error(`fixture: reinstatement answered ${removed.status}`);
    }
    created.set('list-reinstated', removed.body);
    await revoke([{ claim: 'sub', value: 'list-expired', revokedBefore: '2020-01-01T00:00:00Z' }]);
    await h.writer.app.get(RulePruner).pruneAll();
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('lists every rule, latest change first, each in the documented representation', async () => {
    const response = await list('?limit=500');
    expect(response.status).toBe(200);
    const { items, nextCursor } = RulePageSchema.parse(response.body);
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(created.size + 1); // + the HR rule
    const seqs = items.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(items[0]).toMatchObject({ value: 'list-expired', status: 'expired' });
    expect(items.find((r) => r.value === 'list-alice')).toEqual(created.get('list-alice'));
  });

  it.each<[string, (r: RuleResource) => boolean]>([
    ['claim=sub', (r) => r.claim === 'sub'],
    ['value=list-bob', (r) => r.value === 'list-bob'],
    [`iss=${encodeURIComponent(ISS_A)}`, (r) => r.iss === ISS_A],
    ['source=hr', (r) => r.source === 'hr'],
    ['source=operator', (r) => r.source === 'operator'],
    ['status=active', (r) => r.status === 'active'],
    ['status=reinstated', (r) => r.status === 'reinstated'],
    ['status=expired', (r) => r.status === 'expired'],
    [
      'claim=sub&status=active&iss=https%3A%2F%2Fb.example',
      (r) => r.claim === 'sub' && r.status === 'active' && r.iss === ISS_B,
    ],
  ])('filters by %s', async (query, matches) => {
    const all = RulePageSchema.parse((await list('?limit=500')).body).items;
    const response = await list(`?${query}&limit=500`);
    expect(response.status).toBe(200);
    const expected = all.filter(matches);
    expect(expected.length).toBeGreaterThan(0);
    expect(response.body.items).toEqual(expected);
  });

  it('filters by updatedAt range: from inclusive, to exclusive', async () => {
    const all = RulePageSchema.parse((await list('?limit=500')).body).items;
    // Distinct instants, so that the bounds separate rules.
    const instants = [...new Set(all.map((r) => r.updatedAt))].sort();
    expect(instants.length).toBeGreaterThanOrEqual(3);
    const [, from, to] = instants as [string, string, string];
    const response = await list(`?from=${from}&to=${to}&limit=500`);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual(all.filter((r) => r.updatedAt >= from && r.updatedAt < to));
    expect(response.body.items.length).toBeGreaterThan(0);
  });

  it('pages with a cursor: every item once, none missing, in order', async () => {
    const all = RulePageSchema.parse((await list('?limit=500')).body).items;
    const paged = await everyPage('claim=sub', 2);
    expect(paged).toEqual(all.filter((r) => r.claim === 'sub'));
  });

  it('defaults to 50 items per page', async () => {
    await revoke(
      Array.from({ length: 55 }, (_, i) => ({ claim: 'jti', value: `page-${i}` })),
      { confirm: true },
    );
    const response = await list('');
    expect(response.status).toBe(200);
    expect(response.body.items).toHaveLength(50);
    expect(response.body.nextCursor).toEqual(expect.any(String));
  });

  it('stays consistent while rules change between pages: no item twice, no untouched item missing', async () => {
    const before = RulePageSchema.parse((await list('?claim=jti&limit=500')).body).items;
    expect(before.length).toBeGreaterThan(40);
    // The oldest page holds page-0; raise it (new seq) while the client is still on page 1.
    const raised = 'page-0';
    const paged = await everyPage('claim=jti', 10, async (page) => {
      if (page === 0) {
        await revoke([{ claim: 'jti', value: 'page-new' }]);
        await revoke([{ claim: 'jti', value: raised, revokedBefore: null }]);
      }
    });
    const seenIds = new Set(paged.map((r) => r.id));
    const untouched = before.filter((r) => r.value !== raised);
    expect(untouched.every((r) => seenIds.has(r.id))).toBe(true);
    // What changed moved to the front, where the next listing from the top shows it.
    const top = RulePageSchema.parse((await list('?claim=jti&limit=2')).body).items;
    expect(top.map((r) => r.value)).toEqual([raised, 'page-new']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['status=revoked', 'status'],
    ['from=yesterday', 'from'],
    ['cursor=not-a-cursor', 'cursor'],
    // A cursor of another listing is not one of this listing.
    [`cursor=${Buffer.from(JSON.stringify({ k: 'audit', p: 5 })).toString('base64url')}`, 'cursor'],
    ['claim=sub&claim=jti', 'claim'],
  ])('answers 400 invalid_query for %s, naming the parameter', async (query, parameter) => {
    const response = await list(`?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('invalid_query');
    expect(response.body.detail).toContain(`${parameter}:`);
  });
});

describe('GET /v1/revocations/{id}', () => {
  let h: OperatorHarness;

  beforeAll(async () => {
    h = await startOperatorHarness('opget');
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('answers the rule as stored now', async () => {
    const created = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.operator,
      body: { rules: [{ claim: 'sub', value: 'get-alice' }], reason: 'get' },
    });
    const id = created.body.revocationId;
    const response = await call<RuleResource>(h.writer, 'GET', `/v1/revocations/${id}`, {
      token: h.tokens.reader,
    });
    expect(response.status).toBe(200);
    expect(RuleResourceSchema.parse(response.body)).toEqual(created.body.rules[0]);
  });

  it.each([
    ['an unknown id', '6f1c1f7e-3f55-4c1e-9d7a-2b1f0f6f9c11'],
    ['a malformed id', 'not-a-uuid'],
    ['an id with SQL in it', "x' OR '1'='1"],
  ])('answers 404 problem for %s', async (_, id) => {
    const response = await call<ProblemDetails>(
      h.writer,
      'GET',
      `/v1/revocations/${encodeURIComponent(id)}`,
      {
        token: h.tokens.reader,
      },
    );
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 404, code: 'not_found' });
  });
});
