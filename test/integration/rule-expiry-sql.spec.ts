import { isExpired } from '@rescind/rules';
import type { DataSource, EntityManager } from 'typeorm';
import {
  RULE_EXPIRED_SQL,
  RULE_UNEXPIRED_SQL,
} from '../../apps/revocation-writer/src/database/rule-expiry';
import { rows } from '../../apps/revocation-writer/src/database/sql';
import { SnapshotRepository } from '../../apps/revocation-writer/src/snapshot/snapshot.repository';
import { RulesRepository } from '../../apps/revocation-writer/src/write-path/rules.repository';
import { type MigratedDatabase, startMigratedDatabase } from '../support/database';

/** Where a rule's `expires_at` lies relative to the transaction's `now()`, as SQL. */
const BOUNDARY: Record<string, string> = {
  before: `now() - interval '1 millisecond'`,
  equal: `now()`,
  after: `now() + interval '1 millisecond'`,
  null: `NULL::timestamptz`,
};

/**
 * The writer's SQL spelling of rule expiry (`database/rule-expiry.ts`) against the TS predicate
 * consumers use (`isExpired` in @rescind/rules): they must agree at every edge, or a rule the
 * writer still publishes in a snapshot is one a consumer has already pruned (or the reverse).
 */
describe('rule expiry in SQL (RULE_EXPIRED_SQL, RULE_UNEXPIRED_SQL)', () => {
  let database: MigratedDatabase;
  let dataSource: DataSource;
  const rules = new RulesRepository();

  beforeAll(async () => {
    database = await startMigratedDatabase('rule_expiry');
    ({ dataSource } = database);
  });

  afterAll(() => database?.close());

  /** Evaluates both fragments on these `expires_at` values, in one transaction (one `now()`). */
  async function evaluate(values: string[]) {
    return dataSource.transaction(async (em) => {
      const [clock] = await rows<{ now: Date }>(em, `SELECT now() AS now`);
      const evaluated = await rows<{
        expires_at: Date | null;
        expired: boolean;
        unexpired: boolean;
      }>(
        em,
        `SELECT expires_at, ${RULE_EXPIRED_SQL} AS expired, ${RULE_UNEXPIRED_SQL} AS unexpired
           FROM (VALUES ${values.map((v) => `(${v})`).join(', ')}) AS revocation_rule(expires_at)`,
      );
      return { now: clock!.now, evaluated };
    });
  }

  it('agrees with isExpired before, at, after now and for null: a rule expiring now is expired', async () => {
    const { now, evaluated } = await evaluate(Object.values(BOUNDARY));
    const byBoundary = Object.fromEntries(
      Object.keys(BOUNDARY).map((name, i) => [name, evaluated[i]!]),
    );
    expect(
      Object.fromEntries(Object.entries(byBoundary).map(([name, row]) => [name, row.expired])),
    ).toEqual({ before: true, equal: true, after: false, null: false });
    for (const row of evaluated) {
      expect(row.expired).toBe(isExpired(row.expires_at?.getTime() ?? null, now.getTime()));
      expect(row.unexpired).toBe(!row.expired);
    }
  });

  it('agrees with isExpired on the whole milliseconds the writer stores, now() carrying microseconds', async () => {
    // The writer only stores whole milliseconds; now() has microseconds. A rule expiring in the
    // millisecond now() falls in is expired in SQL and by isExpired(expiresAt, Date.now()) alike.
    const ms = `date_trunc('milliseconds', now())`;
    const { now, evaluated } = await evaluate([
      `${ms} - interval '1 millisecond'`,
      ms,
      `${ms} + interval '1 millisecond'`,
    ]);
    expect(evaluated.map((row) => row.expired)).toEqual([true, true, false]);
    for (const row of evaluated) {
      expect(row.expired).toBe(isExpired(row.expires_at!.getTime(), now.getTime()));
      expect(row.unexpired).toBe(!row.expired);
    }
  });

  /** One active rule per boundary, its `expires_at` set relative to this transaction's now(). */
  async function rulesAtBoundaries(em: EntityManager, prefix: string): Promise<void> {
    for (const [name, instant] of Object.entries(BOUNDARY)) {
      const { after } = await rules.writeRevocation(
        em,
        { claim: 'sub', value: `${prefix}-${name}`, iss: null, revokedBefore: 0, expiresAt: null },
        { source: 'operator', sourceEventId: null, reason: 'rule expiry spec' },
      );
      await em.query(`UPDATE revocation_rule SET expires_at = ${instant} WHERE id = $1`, [
        after.id,
      ]);
    }
  }

  it('is what the pruner expires: exactly the rules isExpired calls expired, the one expiring now included', async () => {
    await dataSource.transaction(async (em) => {
      await rulesAtBoundaries(em, 'prune');
      const changes = await rules.expireDue(em, 100);
      expect(changes.map((c) => c.after.value).sort()).toEqual(['prune-before', 'prune-equal']);
      expect(changes.every((c) => c.after.status === 'expired')).toBe(true);
    });
  });

  it('is what the snapshot leaves out: it serves only active rules isExpired calls unexpired', async () => {
    // The snapshot reads in a transaction of its own, so its now() is later than the one the
    // rules were written against; offsets of an hour keep each rule on its side.
    await dataSource.transaction(async (em) => {
      for (const [name, instant] of Object.entries({
        past: `now() - interval '1 hour'`,
        future: `now() + interval '1 hour'`,
        never: `NULL::timestamptz`,
      })) {
        const { after } = await rules.writeRevocation(
          em,
          { claim: 'sub', value: `snap-${name}`, iss: null, revokedBefore: 0, expiresAt: null },
          { source: 'operator', sourceEventId: null, reason: 'rule expiry spec' },
        );
        await em.query(`UPDATE revocation_rule SET expires_at = ${instant} WHERE id = $1`, [
          after.id,
        ]);
      }
    });
    const served = await new SnapshotRepository(dataSource).rulesInForce(0, { issuer: null }, 100);
    const snapshotValues = served.map((r) => r.value).filter((v) => v.startsWith('snap-'));
    expect(snapshotValues.sort()).toEqual(['snap-future', 'snap-never']);
    const nowMs = Date.now();
    for (const rule of served) {
      expect(isExpired(rule.expiresAt, nowMs)).toBe(false);
    }
  });
});
