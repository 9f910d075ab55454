import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import type { AuditPage } from '../../apps/revocation-writer/src/audit/audit.dto';
import type {
  CreatedRevocation,
  DryRun,
  RulePage,
  RuleResource,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { call, hoursAgo, type OperatorHarness, startOperatorHarness } from '../support/operator';
import { rowCounts } from '../support/postgres';

const A = 'https://idp-a.example';
const B = 'https://idp-b.example';

/**
 * Authorization gaps found by outside testers: who may use the operator API and for what
 * (docs/design.md promise 6), and what a credential acting for one issuer may see and touch.
 */
describe('authorization scope', () => {
  let h: OperatorHarness;

  beforeAll(async () => {
    h = await startOperatorHarness('authzscope');
  });

  afterAll(async () => {
    await h?.stop();
  });

  const revoke = (token: string, body: Record<string, unknown>) =>
    call<CreatedRevocation & DryRun & ProblemDetails>(h.writer, 'POST', '/v1/revocations', {
      token,
      body,
    });

  /** Asks for `body` for real and as a dry run: both refused with 403, nothing written. */
  async function refusedBoth(token: string, body: Record<string, unknown>): Promise<string> {
    const before = await rowCounts(h.db);
    const dry = await revoke(token, { ...body, dryRun: true });
    const real = await revoke(token, body);
    expect([dry.status, dry.body.code]).toEqual([403, 'forbidden']);
    expect([real.status, real.body.code]).toEqual([403, 'forbidden']);
    expect(dry.body.detail).toBe(real.body.detail);
    expect(await rowCounts(h.db)).toEqual(before);
    return real.body.detail;
  }

  describe('POST /v1/revocations: the operator API needs its own permissions', () => {
    it.each<[Role, Record<string, unknown>]>([
      // The testers' cases: an HR credential banning the CEO for ever, a SIEM a key for ever.
      ['hr', { claim: 'sub', value: 'ceo', revokedBefore: null }],
      ['hr', { claim: 'sub', value: 'ceo' }],
      ['idp', { claim: 'sid', value: 'session-1' }],
      ['siem', { claim: 'kid', value: 'key-1', revokedBefore: null }],
    ])(
      'refuses %s (an event source, with its event endpoint) even %j: 403 naming "revoke"',
      async (role, rule) => {
        const detail = await refusedBoth(h.tokens[role], {
          rules: [rule],
          reason: 'event source on the operator API',
          confirm: true,
        });
        expect(detail).toContain(`role "${role}" lacks the "revoke" permission`);
      },
    );

    it('refuses an operator a ban without end (sub, revokedBefore null): 403 naming "revoke:permanent"', async () => {
      const detail = await refusedBoth(h.tokens.operator, {
        rules: [
          { claim: 'sub', value: 'fine', revokedBefore: hoursAgo(1) },
          { claim: 'sub', value: 'ceo', revokedBefore: null },
        ],
        reason: 'for ever',
      });
      expect(detail).toContain('role "operator" lacks the "revoke:permanent" permission');
      expect(detail).toContain('/rules/1 (sub)');
    });

    it('lets an operator revoke up to now, and single tokens whatever their iat (they expire)', async () => {
      const response = await revoke(h.tokens.operator, {
        rules: [
          { claim: 'sub', value: 'op-user' },
          { claim: 'jti', value: 'op-token', revokedBefore: null },
        ],
        reason: 'incident',
      });
      expect(response.status).toBe(201);
      expect(response.body.rules.map((r) => r.expiresAt)).toEqual([
        expect.any(String),
        expect.any(String),
      ]);
    });

    it('lets an admin create a ban without end', async () => {
      const response = await revoke(h.tokens.admin, {
        rules: [{ claim: 'sub', value: 'banned', revokedBefore: null }],
        reason: 'fraud',
      });
      expect(response.status).toBe(201);
      expect(response.body.rules[0]).toMatchObject({ revokedBefore: null, expiresAt: null });
    });
  });

  describe('a credential acting for one issuer sees and touches its issuer only', () => {
    let boundReader: string;
    let boundAdmin: string;
    const rules = {} as Record<'a' | 'b' | 'none', RuleResource>;

    beforeAll(async () => {
      const credentials = h.writer.app.get(CredentialsRepository);
      boundReader = (await credentials.createCredential('reader-of-a', 'reader', A)).token;
      boundAdmin = (await credentials.createCredential('admin-of-a', 'admin', A)).token;
      const created = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
        token: h.tokens.admin,
        body: {
          rules: [
            { claim: 'sub', value: 'scoped-a', iss: A, revokedBefore: hoursAgo(1) },
            { claim: 'sub', value: 'scoped-b', iss: B, revokedBefore: hoursAgo(1) },
            { claim: 'sub', value: 'scoped-none', revokedBefore: hoursAgo(1) },
          ],
          reason: 'one rule per issuer, and one for any issuer',
        },
      });
      const [a, b, none] = created.body.rules;
      if (created.status !== 201 || !a || !b || !none) {
        throw new Error(`fixture: revocation answered ${created.status}`);
      }
      Object.assign(rules, { a, b, none });
    });

    const get = <T>(token: string, path: string) =>
      call<T & Partial<Omit<ProblemDetails, 'status'>>>(h.writer, 'GET', path, { token });

    it('lists only rules of its issuer, whatever the filters ask', async () => {
      const all = await get<RulePage>(boundReader, '/v1/revocations?limit=500');
      expect(all.status).toBe(200);
      expect(all.body.items.map((r) => r.value)).toContain('scoped-a');
      expect(new Set(all.body.items.map((r) => r.iss))).toEqual(new Set([A]));

      const otherIssuer = await get<RulePage>(
        boundReader,
        `/v1/revocations?iss=${encodeURIComponent(B)}`,
      );
      expect(otherIssuer.body.items).toEqual([]);
      // Unbound, the same listing holds every issuer's rules.
      const unbound = await get<RulePage>(h.tokens.reader, '/v1/revocations?limit=500');
      expect(unbound.body.items.map((r) => r.value)).toEqual(
        expect.arrayContaining(['scoped-a', 'scoped-b', 'scoped-none']),
      );
    });

    it("answers 404 for another issuer's rule and for an issuer-independent one", async () => {
      expect((await get<RuleResource>(boundReader, `/v1/revocations/${rules.a.id}`)).status).toBe(
        200,
      );
      for (const rule of [rules.b, rules.none]) {
        const response = await get<RuleResource>(boundReader, `/v1/revocations/${rule.id}`);
        expect([response.status, response.body.code]).toEqual([404, 'not_found']);
        expect(response.body.detail).toBe(`no rule with id "${rule.id}"`);
      }
    });

    it("reads only the audit records of its issuer's rules, in pages and in the export", async () => {
      const page = await get<AuditPage>(boundReader, '/v1/audit?limit=500');
      expect(page.status).toBe(200);
      expect(page.body.items.map((e) => e.after?.value)).toContain('scoped-a');
      expect(new Set(page.body.items.map((e) => (e.after ?? e.before)?.iss))).toEqual(new Set([A]));

      const exported = await get<string>(boundReader, '/v1/audit?format=ndjson');
      expect(exported.status).toBe(200);
      const entries = exported.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as AuditPage['items'][number]);
      expect(entries.map((e) => e.after?.value)).toContain('scoped-a');
      expect(new Set(entries.map((e) => (e.after ?? e.before)?.iss))).toEqual(new Set([A]));

      const unbound = await get<AuditPage>(h.tokens.reader, '/v1/audit?limit=500');
      expect(unbound.body.items.map((e) => e.after?.value)).toEqual(
        expect.arrayContaining(['scoped-a', 'scoped-b', 'scoped-none']),
      );
    });

    it('streams a snapshot of its issuer plus the issuer-independent rules, which its tokens match too', async () => {
      const response = await get<string>(boundReader, '/v1/deny-list/snapshot');
      expect(response.status).toBe(200);
      const lines = response.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; rule?: RuleResource; rules?: number });
      const streamed = lines.slice(1, -1).map((line) => line.rule!);
      expect(streamed.map((r) => r.value)).toEqual(
        expect.arrayContaining(['scoped-a', 'scoped-none']),
      );
      expect(streamed.map((r) => r.value)).not.toContain('scoped-b');
      expect(new Set(streamed.map((r) => r.iss))).toEqual(new Set([A, null]));
      expect(lines[lines.length - 1]).toEqual({
        v: 1,
        type: 'snapshot.end',
        rules: streamed.length,
      });
    });

    it("reinstates its issuer's rules only: others are 404 and stay active", async () => {
      const before = await rowCounts(h.db);
      for (const rule of [rules.b, rules.none]) {
        const response = await call<ProblemDetails>(
          h.writer,
          'POST',
          `/v1/revocations/${rule.id}/reinstate`,
          { token: boundAdmin, body: { reason: 'not mine' } },
        );
        expect([response.status, response.body.code]).toEqual([404, 'not_found']);
      }
      expect(await rowCounts(h.db)).toEqual(before);
      const { rows } = await h.db.query<{ status: string }>(
        `SELECT status FROM revocation_rule WHERE id = ANY($1::uuid[])`,
        [[rules.b.id, rules.none.id]],
      );
      expect(rows).toEqual([{ status: 'active' }, { status: 'active' }]);

      const own = await call<RuleResource>(
        h.writer,
        'POST',
        `/v1/revocations/${rules.a.id}/reinstate`,
        { token: boundAdmin, body: { reason: 'mine' } },
      );
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ id: rules.a.id, status: 'reinstated' });
    });
  });
});
