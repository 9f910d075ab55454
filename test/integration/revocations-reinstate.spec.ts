import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { connectToSchema, rowCounts } from '../support/postgres';
import { sampleValue } from '../support/prometheus';
import { waitFor } from '../support/wait-for';
import type { ProblemDetails } from '../../apps/revocation-writer/src/http/problem-details';
import {
  type CreatedRevocation,
  type DryRun,
  type RuleResource,
  RuleResourceSchema,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { RulePruner } from '../../apps/revocation-writer/src/write-path/rule-pruner';
import {
  call,
  hoursAgo,
  type OperatorHarness,
  plusHours,
  startOperatorHarness,
} from '../support/operator';

/** `POST /v1/revocations/{id}/reinstate`: the only way a rule goes down, admin only, audited. */
describe('POST /v1/revocations/{id}/reinstate', () => {
  let h: OperatorHarness;

  beforeAll(async () => {
    h = await startOperatorHarness('opreinstate');
  });

  afterAll(async () => {
    await h?.stop();
  });

  /** A rule to reinstate; one that never expires (revokedBefore null on a user) is an admin's. */
  async function revoke(
    rule: Record<string, unknown>,
    role: Role = 'operator',
  ): Promise<RuleResource> {
    const response = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens[role],
      body: { rules: [rule], reason: 'over-broad' },
    });
    expect(response.status).toBe(201);
    return response.body.rules[0]!;
  }

  const reinstate = (
    id: string,
    body: Record<string, unknown>,
    role: Role = 'admin',
    headers: Record<string, string> = {},
  ) =>
    call<RuleResource & Partial<Omit<ProblemDetails, 'status'>>>(
      h.writer,
      'POST',
      `/v1/revocations/${id}/reinstate`,
      {
        token: h.tokens[role],
        body,
        headers,
      },
    );

  async function journal(seq: number) {
    const { rows: audit } = await h.db.query(
      `SELECT actor, actor_role, action, source, reason, before, after FROM audit_log WHERE seq = $1`,
      [seq],
    );
    const { rows: outbox } = await h.db.query(
      `SELECT topic_key, payload FROM outbox WHERE seq = $1`,
      [seq],
    );
    return { audit, outbox };
  }

  it('removes the rule: a new version (higher seq), its audit record and a rule.removed message', async () => {
    const rule = await revoke({
      claim: 'sub',
      value: 'wrong-person',
      revokedBefore: hoursAgo(1),
    });
    const response = await reinstate(rule.id, { reason: 'wrong person (INC-7)' });

    expect(response.status).toBe(200);
    const after = RuleResourceSchema.parse(response.body);
    expect(after).toMatchObject({
      id: rule.id,
      key: rule.key,
      status: 'reinstated',
      source: 'operator',
      reason: 'wrong person (INC-7)',
      revokedBefore: rule.revokedBefore,
      expiresAt: rule.expiresAt,
    });
    expect(after.seq).toBeGreaterThan(rule.seq);
    expect(after.removedAt).toEqual(expect.any(String));

    const { audit, outbox } = await journal(after.seq);
    expect(audit).toEqual([
      {
        actor: h.actors.admin,
        actor_role: 'admin',
        action: 'rule.reinstated',
        source: 'operator',
        reason: 'wrong person (INC-7)',
        before: expect.objectContaining({ seq: rule.seq, status: 'active' }),
        after: expect.objectContaining({ seq: after.seq, status: 'reinstated' }),
      },
    ]);
    expect(outbox).toEqual([
      {
        topic_key: rule.key,
        payload: expect.objectContaining({
          type: 'rule.removed',
          seq: after.seq,
          rule: { claim: 'sub', value: 'wrong-person', iss: null },
        }),
      },
    ]);
  });

  it('lowers revokedBefore and recomputes expiresAt: a rule.set with the lower instant, audited as rule.lowered', async () => {
    const rule = await revoke({
      claim: 'sub',
      value: 'lower-me',
      revokedBefore: hoursAgo(2),
    });
    // The same instant as hoursAgo(3), written with another offset.
    const lowerTo = plusHours(hoursAgo(3), 2).replace('.000Z', '+02:00');
    const response = await reinstate(rule.id, {
      reason: 'only before the phishing mail',
      revokedBefore: lowerTo,
    });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'active',
      revokedBefore: hoursAgo(3),
      expiresAt: plusHours(hoursAgo(3), 24),
      removedAt: null,
    });
    const { audit, outbox } = await journal(response.body.seq);
    expect(audit).toEqual([
      expect.objectContaining({ action: 'rule.lowered', actor: h.actors.admin }),
    ]);
    expect(outbox).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          type: 'rule.set',
          rule: expect.objectContaining({ revokedBefore: Date.parse(hoursAgo(3)) }),
        }),
      }),
    ]);
  });

  it('lowers a rule that revoked every token (revokedBefore null) to an instant', async () => {
    const rule = await revoke(
      { claim: 'client_id', value: 'app-all', revokedBefore: null },
      'admin',
    );
    expect(rule.revokedBefore).toBeNull();
    const response = await reinstate(rule.id, {
      reason: 'new tokens are fine',
      revokedBefore: hoursAgo(4),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      revokedBefore: hoursAgo(4),
      expiresAt: plusHours(hoursAgo(4), 24),
    });
  });

  it.each([
    ['the same instant', hoursAgo(5)],
    ['a later instant (raising is a revocation)', hoursAgo(4)],
  ])('answers 422 for %s, writing nothing', async (_, revokedBefore) => {
    const rule = await revoke({
      claim: 'sub',
      value: `not-lower-${revokedBefore}`,
      revokedBefore: hoursAgo(5),
    });
    const before = await rowCounts(h.db);
    const response = await reinstate(rule.id, { reason: 'r', revokedBefore });
    expect(response.status).toBe(422);
    expect(response.body.errors).toEqual([expect.objectContaining({ pointer: '/revokedBefore' })]);
    expect(await rowCounts(h.db)).toEqual(before);
  });

  it('counts the reinstatements and lowerings above by outcome', async () => {
    const metrics = await (await fetch(`${h.writer.url}/metrics`)).text();
    const counted = (outcome: string) =>
      sampleValue(metrics, 'rescind_reinstatements_total', { source: 'operator', outcome });
    expect(counted('reinstated')).toBeGreaterThanOrEqual(1);
    expect(counted('lowered')).toBeGreaterThanOrEqual(2);
  });

  it('answers 422 naming the fields for a missing reason or a future instant', async () => {
    const rule = await revoke({ claim: 'sub', value: 'bad-body' });
    const noReason = await reinstate(rule.id, {});
    expect([noReason.status, noReason.body.errors?.map((e) => e.pointer)]).toEqual([
      422,
      ['/reason'],
    ]);
    const future = await reinstate(rule.id, {
      reason: 'r',
      revokedBefore: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect([future.status, future.body.errors?.map((e) => e.pointer)]).toEqual([
      422,
      ['/revokedBefore'],
    ]);
  });

  it('answers 409 for a rule that no longer revokes (reinstated or expired)', async () => {
    const rule = await revoke({ claim: 'sub', value: 'twice' });
    expect((await reinstate(rule.id, { reason: 'first' })).status).toBe(200);
    const again = await reinstate(rule.id, { reason: 'second' });
    expect([again.status, again.body.code]).toEqual([409, 'rule_not_active']);

    const old = await revoke({
      claim: 'sub',
      value: 'long-expired',
      revokedBefore: '2020-01-01T00:00:00Z',
    });
    expect(await h.writer.app.get(RulePruner).pruneAll()).toBeGreaterThanOrEqual(1);
    const expired = await reinstate(old.id, { reason: 'too late' });
    expect([expired.status, expired.body.code]).toEqual([409, 'rule_not_active']);

    // Refused reinstatements leave no trace: set + reinstated, set + expired.
    const { rows } = await h.db.query(
      `SELECT revocation_id, array_agg(action ORDER BY id) AS actions FROM audit_log
        WHERE revocation_id = ANY($1::uuid[]) GROUP BY revocation_id ORDER BY min(id)`,
      [[rule.id, old.id]],
    );
    expect(rows).toEqual([
      { revocation_id: rule.id, actions: ['rule.set', 'rule.reinstated'] },
      { revocation_id: old.id, actions: ['rule.set', 'rule.expired'] },
    ]);
  });

  it('lets exactly one of two concurrent reinstatements win (the row lock)', async () => {
    const rule = await revoke({ claim: 'sub', value: 'race' });
    const answers = await Promise.all([
      reinstate(rule.id, { reason: 'a' }),
      reinstate(rule.id, { reason: 'b' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const { rows } = await h.db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE revocation_id = $1`,
      [rule.id],
    );
    expect(rows).toEqual([{ n: 2 }]);
  });

  it.each([
    ['an unknown id', '6f1c1f7e-3f55-4c1e-9d7a-2b1f0f6f9c11'],
    ['a malformed id', 'nope'],
  ])('answers 404 for %s', async (_, id) => {
    const response = await reinstate(id, { reason: 'r' });
    expect([response.status, response.body.code]).toEqual([404, 'not_found']);
  });

  it.each<Role>(['operator', 'reader', 'siem', 'hr'])(
    'answers 403 to %s (only admin may reinstate), writing nothing',
    async (role) => {
      const rule = await revoke({ claim: 'sub', value: `keep-${role}` });
      const before = await rowCounts(h.db);
      const response = await reinstate(rule.id, { reason: 'r' }, role);
      expect([response.status, response.body.code]).toEqual([403, 'forbidden']);
      expect(await rowCounts(h.db)).toEqual(before);
      const stored = await call<RuleResource>(h.writer, 'GET', `/v1/revocations/${rule.id}`, {
        token: h.tokens.reader,
      });
      expect(stored.body.status).toBe('active');
    },
  );

  it('revives a reinstated rule with the new values when it is revoked again (dry run says so first)', async () => {
    const rule = await revoke({ claim: 'sub', value: 'revive', revokedBefore: null }, 'admin');
    expect((await reinstate(rule.id, { reason: 'mistake' })).status).toBe(200);
    const again = {
      rules: [{ claim: 'sub', value: 'revive', revokedBefore: hoursAgo(1) }],
      reason: 'now for real',
    };

    const plan = await call<DryRun>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.operator,
      body: { ...again, dryRun: true },
    });
    expect(plan.body.rules).toEqual([
      expect.objectContaining({
        effect: 'reactivate',
        revokedBefore: hoursAgo(1),
        current: expect.objectContaining({ status: 'reinstated' }),
      }),
    ]);
    const revived = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.operator,
      body: again,
    });
    // Not merged with the removed version's null (which would mean every token again).
    expect(revived.body.rules[0]).toMatchObject({
      id: rule.id,
      status: 'active',
      revokedBefore: hoursAgo(1),
      removedAt: null,
    });
  });

  describe('with an Idempotency-Key', () => {
    const withKey = (key: string) => ({ 'idempotency-key': key });

    /** Audit actions of one rule, oldest first: one per version written. */
    async function actions(id: string): Promise<string[]> {
      const { rows } = await h.db.query<{ action: string }>(
        `SELECT action FROM audit_log WHERE revocation_id = $1 ORDER BY id`,
        [id],
      );
      return rows.map((r) => r.action);
    }

    it('answers a retry after success with the version written then (200) and writes nothing', async () => {
      const rule = await revoke({ claim: 'sub', value: 'idem-remove' });
      const body = { reason: 'wrong person (INC-8)' };
      const first = await reinstate(rule.id, body, 'admin', withKey('chg-1001'));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: 'reinstated', sourceEventId: 'chg-1001' });
      const before = await rowCounts(h.db);

      // Without the key this retry is `409 rule_not_active`: the rule is removed by now.
      const again = await reinstate(rule.id, body, 'admin', withKey('chg-1001'));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await rowCounts(h.db)).toEqual(before);
      expect(await actions(rule.id)).toEqual(['rule.set', 'rule.reinstated']);
      const { rows } = await h.db.query(
        `SELECT source, event_id FROM processed_event WHERE event_id = 'chg-1001'`,
      );
      expect(rows).toEqual([{ source: 'operator.reinstate', event_id: 'chg-1001' }]);
    });

    it('does not lower twice: a retry after the rule was raised again gets the first answer and leaves the raise', async () => {
      const rule = await revoke({ claim: 'sub', value: 'idem-lower', revokedBefore: hoursAgo(2) });
      const body = { reason: 'only before the phishing mail', revokedBefore: hoursAgo(3) };
      const lowered = await reinstate(rule.id, body, 'admin', withKey('chg-1002'));
      expect(lowered.status).toBe(200);
      expect(lowered.body).toMatchObject({ status: 'active', revokedBefore: hoursAgo(3) });
      const raised = await revoke({
        claim: 'sub',
        value: 'idem-lower',
        revokedBefore: hoursAgo(1),
      });
      expect(raised).toMatchObject({ id: rule.id, revokedBefore: hoursAgo(1) });
      const before = await rowCounts(h.db);

      // The same instant, written with another offset: the same request.
      const sameInstant = plusHours(hoursAgo(3), 2).replace('.000Z', '+02:00');
      const retry = await reinstate(
        rule.id,
        { ...body, revokedBefore: sameInstant },
        'admin',
        withKey('chg-1002'),
      );
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(lowered.body);
      expect(await rowCounts(h.db)).toEqual(before);
      const stored = await call<RuleResource>(h.writer, 'GET', `/v1/revocations/${rule.id}`, {
        token: h.tokens.reader,
      });
      expect(stored.body).toMatchObject({ seq: raised.seq, revokedBefore: hoursAgo(1) });
      expect(await actions(rule.id)).toEqual(['rule.set', 'rule.lowered', 'rule.set']);
    });

    it('answers 409 problem+json for the same key with another request or from another admin, writing nothing', async () => {
      const rule = await revoke({
        claim: 'sub',
        value: 'idem-conflict',
        revokedBefore: hoursAgo(2),
      });
      const other = await revoke({ claim: 'sub', value: 'idem-conflict-other' });
      const body = { reason: 'too broad', revokedBefore: hoursAgo(3) };
      expect((await reinstate(rule.id, body, 'admin', withKey('chg-1003'))).status).toBe(200);
      const secondAdmin = await h.writer.app
        .get(CredentialsRepository)
        .createCredential('opreinstate-admin-2', 'admin');
      const before = await rowCounts(h.db);

      const conflicts = [
        await reinstate(
          rule.id,
          { ...body, reason: 'another reason' },
          'admin',
          withKey('chg-1003'),
        ),
        await reinstate(
          rule.id,
          { ...body, revokedBefore: hoursAgo(4) },
          'admin',
          withKey('chg-1003'),
        ),
        await reinstate(rule.id, { reason: body.reason }, 'admin', withKey('chg-1003')),
        await reinstate(other.id, body, 'admin', withKey('chg-1003')),
        await call<ProblemDetails>(h.writer, 'POST', `/v1/revocations/${rule.id}/reinstate`, {
          token: secondAdmin.token,
          body,
          headers: withKey('chg-1003'),
        }),
      ];
      for (const conflict of conflicts) {
        expect([conflict.status, conflict.headers.get('content-type'), conflict.body.code]).toEqual(
          [409, expect.stringMatching(/^application\/problem\+json/), 'idempotency_conflict'],
        );
      }
      expect(await rowCounts(h.db)).toEqual(before);
      expect(await actions(other.id)).toEqual(['rule.set']);
    });

    it('claims no key for a refused request: the corrected request with that key is carried out', async () => {
      const rule = await revoke({
        claim: 'sub',
        value: 'idem-refused',
        revokedBefore: hoursAgo(5),
      });
      const refused = await reinstate(
        rule.id,
        { reason: 'r', revokedBefore: hoursAgo(4) },
        'admin',
        withKey('chg-1004'),
      );
      expect(refused.status).toBe(422);
      const corrected = await reinstate(
        rule.id,
        { reason: 'r', revokedBefore: hoursAgo(6) },
        'admin',
        withKey('chg-1004'),
      );
      expect([corrected.status, corrected.body.revokedBefore]).toEqual([200, hoursAgo(6)]);
    });

    it('keeps the keys of creates and reinstatements apart: one key may serve both', async () => {
      const create = () =>
        call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
          token: h.tokens.admin,
          body: { rules: [{ claim: 'sub', value: 'idem-both' }], reason: 'r' },
          headers: withKey('chg-1005'),
        });
      const created = await create();
      expect(created.status).toBe(201);
      const reinstated = await reinstate(
        created.body.revocationId,
        { reason: 'r' },
        'admin',
        withKey('chg-1005'),
      );
      expect([reinstated.status, reinstated.body.status]).toEqual([200, 'reinstated']);

      // Each endpoint's retry gets its own first answer.
      const createdAgain = await create();
      expect([createdAgain.status, createdAgain.body]).toEqual([
        201,
        { ...created.body, duplicate: true },
      ]);
      const reinstatedAgain = await reinstate(
        created.body.revocationId,
        { reason: 'r' },
        'admin',
        withKey('chg-1005'),
      );
      expect([reinstatedAgain.status, reinstatedAgain.body]).toEqual([200, reinstated.body]);
      expect(await actions(created.body.revocationId)).toEqual(['rule.set', 'rule.reinstated']);
    });

    it('makes one change of concurrent identical requests, and answers each with it', async () => {
      const rule = await revoke({ claim: 'sub', value: 'idem-race' });
      // Hold the rule's row lock, so that the three requests are all in flight at once: one
      // claims the key and waits for the rule, the others wait for its claim.
      const holder = await connectToSchema(h.schema);
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM revocation_rule WHERE id = $1 FOR UPDATE`, [rule.id]);
        const { rows: me } = await holder.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
        const pid = me[0]!.pid;
        const pending = [1, 2, 3].map(() =>
          reinstate(rule.id, { reason: 'race' }, 'admin', withKey('chg-1006')),
        );
        await waitFor('three requests waiting, behind the holder', async () => {
          const { rows } = await h.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity a
              WHERE $1 = ANY(pg_blocking_pids(a.pid))
                 OR EXISTS (SELECT 1 FROM pg_stat_activity b
                             WHERE b.pid = ANY(pg_blocking_pids(a.pid))
                               AND $1 = ANY(pg_blocking_pids(b.pid)))`,
            [pid],
          );
          return rows[0]!.n === 3;
        });
        await holder.query('COMMIT');
        const answers = await Promise.all(pending);

        expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
        expect(answers[1]!.body).toEqual(answers[0]!.body);
        expect(answers[2]!.body).toEqual(answers[0]!.body);
        expect(answers[0]!.body).toMatchObject({ status: 'reinstated' });
        expect(await actions(rule.id)).toEqual(['rule.set', 'rule.reinstated']);
        const { rows } = await h.db.query(
          `SELECT count(*)::int AS n FROM outbox WHERE topic_key = $1`,
          [rule.key],
        );
        expect(rows).toEqual([{ n: 2 }]);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
      }
    });

    it('answers 400 for a malformed key, writing nothing', async () => {
      const rule = await revoke({ claim: 'sub', value: 'idem-bad-key' });
      const response = await reinstate(rule.id, { reason: 'r' }, 'admin', withKey('has spaces'));
      expect([response.status, response.body.code]).toEqual([400, 'invalid_header']);
      expect(await actions(rule.id)).toEqual(['rule.set']);
    });
  });
});
