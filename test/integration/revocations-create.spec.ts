import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import { rowCounts } from '../support/postgres';
import {
  type CreatedRevocation,
  type DryRun,
  DryRunSchema,
  CreatedRevocationSchema,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import {
  call,
  hoursAgo,
  type OperatorHarness,
  plusHours,
  startOperatorHarness,
} from '../support/operator';

const ISS = 'https://idp.example.com';
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * `POST /v1/revocations` against the real writer: what it writes (and what a dry run does not),
 * idempotency, validation, the blast-radius guard and authorization per role.
 */
describe('POST /v1/revocations', () => {
  let h: OperatorHarness;

  beforeAll(async () => {
    h = await startOperatorHarness('opcreate', {
      CUSTOM_RULE_CLAIMS: 'device_id,tenant',
      BULK_CONFIRM_THRESHOLD: '3',
    });
  });

  afterAll(async () => {
    await h?.stop();
  });

  const revoke = (
    token: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) =>
    call<CreatedRevocation & DryRun & ProblemDetails>(h.writer, 'POST', '/v1/revocations', {
      token,
      body,
      headers,
    });

  describe('writing', () => {
    it('commits the rule, its audit record, outbox message and idempotency record, then answers 201 with the version written', async () => {
      const before = await rowCounts(h.db);
      const sentAt = Date.now();
      const response = await revoke(h.tokens.operator, {
        rules: [{ claim: 'sub', value: 'alice', iss: ISS }],
        reason: 'laptop stolen (INC-1)',
      });
      const answeredAt = Date.now();

      expect(response.status).toBe(201);
      const body = CreatedRevocationSchema.parse(response.body);
      expect(body.duplicate).toBe(false);
      expect(response.headers.get('location')).toBe(`/v1/revocations/${body.revocationId}`);
      expect(body.rules).toHaveLength(1);
      const rule = body.rules[0]!;
      expect(rule).toMatchObject({
        id: body.revocationId,
        seq: body.seq,
        key: 'sub:https%3A%2F%2Fidp.example.com:alice',
        claim: 'sub',
        value: 'alice',
        iss: ISS,
        status: 'active',
        source: 'operator',
        reason: 'laptop stolen (INC-1)',
        removedAt: null,
      });
      // Without revokedBefore a sub rule revokes what was issued before the writer received it.
      const revokedBefore = Date.parse(rule.revokedBefore!);
      expect(revokedBefore).toBeGreaterThanOrEqual(sentAt);
      expect(revokedBefore).toBeLessThanOrEqual(answeredAt);
      expect(Date.parse(rule.expiresAt!) - revokedBefore).toBe(DAY);
      expect(rule.sourceEventId).toMatch(/^[0-9a-f-]{36}$/);

      expect(await rowCounts(h.db)).toEqual({
        rules: before.rules + 1,
        outbox: before.outbox + 1,
        audit: before.audit + 1,
        events: before.events + 1,
      });
      const { rows: audit } = await h.db.query(
        `SELECT actor, actor_role, action, source, source_event_id, reason FROM audit_log WHERE seq = $1`,
        [body.seq],
      );
      expect(audit).toEqual([
        {
          actor: h.actors.operator,
          actor_role: 'operator',
          action: 'rule.set',
          source: 'operator',
          source_event_id: rule.sourceEventId,
          reason: 'laptop stolen (INC-1)',
        },
      ]);
    });

    it('defaults revokedBefore to null (every token) for jti, token_hash and sid', async () => {
      const response = await revoke(h.tokens.operator, {
        rules: [
          { claim: 'jti', value: 'tok-1' },
          { claim: 'sid', value: 'session-1' },
          { claim: 'token_hash', value: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg' },
        ],
        reason: 'leaked in a support ticket',
      });
      expect(response.status).toBe(201);
      expect(response.body.rules.map((r) => r.revokedBefore)).toEqual([null, null, null]);
      // Nothing new can carry these values: the rules expire one token lifetime from now.
      for (const rule of response.body.rules) {
        expect(Date.parse(rule.expiresAt!) - Date.parse(rule.createdAt)).toBeGreaterThan(
          DAY - 60_000,
        );
      }
    });

    it('takes server-side facts from the server: unknown body fields are ignored', async () => {
      // An admin's: a rule on a user with revokedBefore null never expires.
      const response = await revoke(h.tokens.admin, {
        rules: [{ claim: 'sub', value: 'mallory', revokedBefore: null, seq: 1 }],
        reason: 'stripped fields',
        actor: 'someone-else',
        source: 'hr',
        receivedAt: '2001-01-01T00:00:00Z',
      });
      expect(response.status).toBe(201);
      const { rows } = await h.db.query(`SELECT actor, source FROM audit_log WHERE seq = $1`, [
        response.body.seq,
      ]);
      expect(rows).toEqual([{ actor: h.actors.admin, source: 'operator' }]);
      expect(response.body.rules[0]).toMatchObject({
        source: 'operator',
        revokedBefore: null,
        expiresAt: null,
      });
    });

    it('raises an active rule to the later revokedBefore and never lowers it', async () => {
      const t1 = new Date(Date.now() - 2 * HOUR).toISOString();
      const t0 = new Date(Date.now() - 3 * HOUR).toISOString();
      const first = await revoke(h.tokens.operator, {
        rules: [{ claim: 'client_id', value: 'app-raise', revokedBefore: t1 }],
        reason: 'first',
      });
      const lower = await revoke(h.tokens.operator, {
        rules: [{ claim: 'client_id', value: 'app-raise', revokedBefore: t0 }],
        reason: 'an earlier instant',
      });
      expect(lower.status).toBe(201);
      expect(lower.body.rules[0]!.id).toBe(first.body.rules[0]!.id);
      expect(lower.body.rules[0]!.seq).toBeGreaterThan(first.body.rules[0]!.seq);
      expect(lower.body.rules[0]!.revokedBefore).toBe(t1);
    });

    it('answers 201 with each version written when one request names one rule twice', async () => {
      const response = await revoke(h.tokens.operator, {
        rules: [
          { claim: 'sub', value: 'twice', revokedBefore: hoursAgo(2) },
          { claim: 'sub', value: 'twice', revokedBefore: hoursAgo(3) },
        ],
        reason: 'twice',
      });
      expect(response.status).toBe(201);
      const [a, b] = response.body.rules;
      expect(b!.id).toBe(a!.id);
      expect(b!.seq).toBeGreaterThan(a!.seq);
      expect([a!.revokedBefore, b!.revokedBefore]).toEqual([hoursAgo(2), hoursAgo(2)]);
    });
  });

  describe('dry run', () => {
    it('answers what would be written, computed against the stored rule, and writes nothing at all', async () => {
      const stored = await revoke(h.tokens.operator, {
        rules: [{ claim: 'sub', value: 'dry-bob', iss: ISS, revokedBefore: hoursAgo(6) }],
        reason: 'stored',
      });
      expect(stored.status).toBe(201);
      const before = await rowCounts(h.db);

      const response = await revoke(h.tokens.operator, {
        dryRun: true,
        reason: 'what if',
        rules: [
          { claim: 'sub', value: 'dry-bob', iss: ISS, revokedBefore: hoursAgo(5) },
          { claim: 'sub', value: 'dry-bob', iss: ISS, revokedBefore: hoursAgo(7) },
          { claim: 'jti', value: 'dry-new' },
        ],
      });

      expect(response.status).toBe(200);
      const plan = DryRunSchema.parse(response.body);
      expect(plan.rules).toEqual([
        expect.objectContaining({
          key: 'sub:https%3A%2F%2Fidp.example.com:dry-bob',
          revokedBefore: hoursAgo(5),
          expiresAt: plusHours(hoursAgo(5), 24),
          effect: 'raise',
          current: expect.objectContaining({ revokedBefore: hoursAgo(6) }),
        }),
        // Folded in request order, as the transaction would: the earlier instant changes nothing.
        expect.objectContaining({ revokedBefore: hoursAgo(5), effect: 'unchanged' }),
        expect.objectContaining({
          key: 'jti::dry-new',
          revokedBefore: null,
          effect: 'create',
          current: null,
        }),
      ]);
      expect(await rowCounts(h.db)).toEqual(before);
      const { rows } = await h.db.query(
        `SELECT revoked_before FROM revocation_rule WHERE value = 'dry-bob'`,
      );
      expect(rows).toEqual([{ revoked_before: new Date(hoursAgo(6)) }]);
    });

    it.each<[string, Role, Record<string, unknown>, number, string]>([
      [
        'a broad claim without confirm',
        'admin',
        { claim: 'iss', value: ISS },
        422,
        'confirmation_required',
      ],
      [
        'a claim the role may not revoke',
        'operator',
        { claim: 'kid', value: 'k1' },
        403,
        'forbidden',
      ],
      [
        'any rule for a role that may revoke nothing',
        'reader',
        { claim: 'sub', value: 'x' },
        403,
        'forbidden',
      ],
    ])(
      'refuses %s exactly like the real request, writing nothing',
      async (_, role, rule, status, code) => {
        const before = await rowCounts(h.db);
        const dry = await revoke(h.tokens[role], { rules: [rule], reason: 'dry', dryRun: true });
        const real = await revoke(h.tokens[role], { rules: [rule], reason: 'real' });
        expect([dry.status, dry.body.code]).toEqual([status, code]);
        expect([real.status, real.body.code]).toEqual([status, code]);
        expect(await rowCounts(h.db)).toEqual(before);
      },
    );
  });

  describe('idempotency', () => {
    it('answers a retry with the same Idempotency-Key with the first answer and writes nothing twice', async () => {
      const body = { rules: [{ claim: 'sub', value: 'idem-carol' }], reason: 'offboarding' };
      const first = await revoke(h.tokens.operator, body, { 'idempotency-key': 'ticket-4711' });
      expect(first.status).toBe(201);
      const before = await rowCounts(h.db);

      // The receive time differs (it sets revokedBefore), the request does not: a duplicate.
      const again = await revoke(h.tokens.operator, body, { 'idempotency-key': 'ticket-4711' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual({ ...first.body, duplicate: true });
      expect(again.body.rules[0]!.sourceEventId).toBe('ticket-4711');
      expect(await rowCounts(h.db)).toEqual(before);
    });

    it('answers 409 for the same key with another body, or from another caller, writing nothing', async () => {
      const body = { rules: [{ claim: 'sub', value: 'idem-dave' }], reason: 'offboarding' };
      expect(
        (await revoke(h.tokens.operator, body, { 'idempotency-key': 'ticket-4712' })).status,
      ).toBe(201);
      const before = await rowCounts(h.db);

      const changed = await revoke(
        h.tokens.operator,
        { ...body, reason: 'another reason' },
        { 'idempotency-key': 'ticket-4712' },
      );
      expect([changed.status, changed.body.code]).toEqual([409, 'idempotency_conflict']);
      const otherCaller = await revoke(h.tokens.admin, body, { 'idempotency-key': 'ticket-4712' });
      expect([otherCaller.status, otherCaller.body.code]).toEqual([409, 'idempotency_conflict']);
      expect(await rowCounts(h.db)).toEqual(before);
    });

    it('answers 400 for a malformed Idempotency-Key', async () => {
      const response = await revoke(
        h.tokens.operator,
        { rules: [{ claim: 'sub', value: 'x' }], reason: 'r' },
        { 'idempotency-key': 'has spaces' },
      );
      expect([response.status, response.body.code]).toEqual([400, 'invalid_header']);
    });
  });

  describe('validation (RFC 9457, every offending member named)', () => {
    async function problems(body: unknown) {
      const before = await rowCounts(h.db);
      const response = await revoke(h.tokens.admin, body as Record<string, unknown>);
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('invalid_event');
      expect(await rowCounts(h.db)).toEqual(before);
      return response.body.errors!.map((e) => e.pointer);
    }

    it('names a claim this deployment does not allow', async () => {
      expect(
        await problems({
          rules: [
            { claim: 'sub', value: 'a' },
            { claim: 'email', value: 'a@example.com' },
          ],
          reason: 'r',
        }),
      ).toEqual(['/rules/1/claim']);
    });

    it('names a revokedBefore in the future, beyond the clock-skew allowance', async () => {
      const future = new Date(Date.now() + 10 * 60_000).toISOString();
      expect(
        await problems({
          rules: [{ claim: 'sub', value: 'a', revokedBefore: future }],
          reason: 'r',
        }),
      ).toEqual(['/rules/0/revokedBefore']);
    });

    it('takes a revokedBefore slightly ahead (clock skew) as the receive time', async () => {
      const sentAt = Date.now();
      const response = await revoke(h.tokens.operator, {
        rules: [
          { claim: 'sub', value: 'skewed', revokedBefore: new Date(sentAt + 5000).toISOString() },
        ],
        reason: 'clock ahead',
      });
      expect(response.status).toBe(201);
      expect(Date.parse(response.body.rules[0]!.revokedBefore!)).toBeLessThan(sentAt + 5000);
    });

    it('names missing, malformed and oversized members', async () => {
      expect(
        await problems({
          rules: [
            { claim: 'Sub', value: '' },
            { claim: 'sub', value: 'x', revokedBefore: 'yesterday' },
          ],
          reason: 'x'.repeat(1001),
        }),
      ).toEqual(
        expect.arrayContaining([
          '/rules/0/claim',
          '/rules/0/value',
          '/rules/1/revokedBefore',
          '/reason',
        ]),
      );
      expect(await problems({ rules: [] })).toEqual(expect.arrayContaining(['/rules', '/reason']));
    });

    it('refuses to store a raw token as a rule value', async () => {
      const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
      expect(await problems({ rules: [{ claim: 'jti', value: jwt }], reason: 'r' })).toEqual([
        '/rules/0/value',
      ]);
      expect(
        await problems({ rules: [{ claim: 'token_hash', value: 'opaque-token' }], reason: 'r' }),
      ).toEqual(['/rules/0/value']);
    });

    it('answers 415 for a body that is not JSON', async () => {
      const response = await revoke(h.tokens.operator, {}, { 'content-type': 'text/plain' });
      expect([response.status, response.body.code]).toEqual([415, 'unsupported_media_type']);
    });
  });

  describe('blast-radius guard', () => {
    it.each(['iss', 'kid', 'tenant'])(
      'refuses a %s rule without confirm: 422 confirmation_required',
      async (claim) => {
        const response = await revoke(h.tokens.admin, {
          rules: [{ claim, value: `broad-${claim}` }],
          reason: 'r',
        });
        expect([response.status, response.body.code]).toEqual([422, 'confirmation_required']);
      },
    );

    it('refuses an operator a broad claim even with confirm: 403', async () => {
      const response = await revoke(h.tokens.operator, {
        rules: [{ claim: 'iss', value: 'https://compromised.example' }],
        reason: 'r',
        confirm: true,
      });
      expect([response.status, response.body.code]).toEqual([403, 'forbidden']);
    });

    it('lets an admin revoke a broad claim with confirm: 201', async () => {
      const response = await revoke(h.tokens.admin, {
        rules: [
          {
            claim: 'iss',
            value: 'https://compromised.example',
            revokedBefore: hoursAgo(1),
          },
        ],
        reason: 'issuer key leaked',
        confirm: true,
      });
      expect(response.status).toBe(201);
      expect(response.body.rules[0]).toMatchObject({
        claim: 'iss',
        revokedBefore: hoursAgo(1),
      });
    });

    describe('more rules than BULK_CONFIRM_THRESHOLD (3)', () => {
      const bulk = (prefix: string) =>
        Array.from({ length: 4 }, (_, i) => ({ claim: 'sub', value: `${prefix}-${i}` }));

      it('refuses an operator, even with confirm: 403', async () => {
        const response = await revoke(h.tokens.operator, {
          rules: bulk('op'),
          reason: 'r',
          confirm: true,
        });
        expect([response.status, response.body.code]).toEqual([403, 'forbidden']);
      });

      it('refuses an admin without confirm: 422', async () => {
        const response = await revoke(h.tokens.admin, { rules: bulk('adm'), reason: 'r' });
        expect([response.status, response.body.code]).toEqual([422, 'confirmation_required']);
      });

      it('accepts an admin with confirm: 201, every rule written', async () => {
        const before = await rowCounts(h.db);
        const response = await revoke(h.tokens.admin, {
          rules: bulk('ok'),
          reason: 'r',
          confirm: true,
        });
        expect(response.status).toBe(201);
        expect(response.body.rules.map((r) => r.value)).toEqual(['ok-0', 'ok-1', 'ok-2', 'ok-3']);
        expect((await rowCounts(h.db)).rules).toBe(before.rules + 4);
      });

      it('accepts exactly the threshold from an operator without confirm', async () => {
        const response = await revoke(h.tokens.operator, {
          rules: bulk('edge').slice(0, 3),
          reason: 'r',
        });
        expect(response.status).toBe(201);
      });
    });
  });

  describe('authorization per role (the full matrix is unit-tested in permissions.spec.ts)', () => {
    const rule = (claim: string, extra: Record<string, unknown> = {}) => ({
      rules: [{ claim, value: `authz-${claim}`, ...extra }],
      reason: 'authz',
    });

    it.each<[Role, 'allowed' | 'refused', Record<string, unknown>, number]>([
      // Event sources revoke through their event endpoints, not the operator API.
      ['hr', 'refused', rule('sub'), 403],
      ['idp', 'refused', rule('sid'), 403],
      ['siem', 'refused', { ...rule('kid'), confirm: true }, 403],
      ['operator', 'allowed', rule('device_id'), 201],
      ['operator', 'refused', { ...rule('tenant'), confirm: true }, 403],
      // A ban without end is the admin's (revoke:permanent).
      ['operator', 'refused', rule('client_id', { revokedBefore: null }), 403],
      ['admin', 'allowed', rule('client_id', { revokedBefore: null }), 201],
      ['admin', 'allowed', { ...rule('tenant'), confirm: true }, 201],
      ['admin', 'refused', rule('tenant'), 422],
      ['reader', 'refused', rule('sub'), 403],
      ['introspector', 'refused', rule('sub'), 403],
    ])('%s: revoking is %s', async (role, _, body, status) => {
      const before = await rowCounts(h.db);
      const response = await revoke(h.tokens[role], body);
      expect(response.status).toBe(status);
      expect((await rowCounts(h.db)).rules).toBe(before.rules + (status === 201 ? 1 : 0));
    });

    it.each<[Role, number]>([
      ['reader', 200],
      ['operator', 200],
      ['admin', 200],
      ['hr', 403],
      ['idp', 403],
      ['siem', 403],
      ['introspector', 403],
    ])('%s: reading the rules answers %i', async (role, status) => {
      const response = await call(h.writer, 'GET', '/v1/revocations?limit=1', {
        token: h.tokens[role],
      });
      expect(response.status).toBe(status);
    });
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', {}],
      ['an unknown API credential', { authorization: `Bearer rsk_AAAAAAAAAAAA_${'A'.repeat(43)}` }],
      ['a malformed API credential', { authorization: 'Bearer rsk_nope' }],
    ])('answers 401 with %s, writing nothing', async (_, headers: Record<string, string>) => {
      const before = await rowCounts(h.db);
      for (const [method, path] of [
        ['POST', '/v1/revocations'],
        ['GET', '/v1/revocations'],
        ['GET', '/v1/revocations/00000000-0000-4000-8000-000000000000'],
        ['POST', '/v1/revocations/00000000-0000-4000-8000-000000000000/reinstate'],
        ['GET', '/v1/audit'],
      ] as const) {
        const response = await call<ProblemDetails>(h.writer, method, path, {
          headers,
          body:
            method === 'POST' ? { rules: [{ claim: 'sub', value: 'x' }], reason: 'r' } : undefined,
        });
        expect([method, path, response.status, response.body.code]).toEqual([
          method,
          path,
          401,
          'unauthenticated',
        ]);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      expect(await rowCounts(h.db)).toEqual(before);
    });
  });
});
