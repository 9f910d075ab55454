import { randomUUID } from 'node:crypto';
import { mergeRevocation, type StoredCutoffs } from '@rescind/rules';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { RulesRepository } from '../../apps/revocation-writer/src/write-path/rules.repository';
import { cutoffsOf } from '../../apps/revocation-writer/src/write-path/stored-rule';
import { type MigratedDatabase, startMigratedDatabase } from '../support/database';

const NOW = Date.parse('2026-11-22T12:00:00Z');
// Few distinct instants, so equal cutoffs (the edges of "later") come up often.
const bound = fc.option(
  fc.integer({ min: 0, max: 20 }).map((i) => NOW + i * 1000),
  { nil: null, freq: 4 },
);
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      revokedBefore: bound,
      cutoff: fc.constantFrom(undefined, 'iat' as const, 'auth_time' as const),
      expiresAt: bound,
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom('reinstated' as const, 'expired' as const) },
);

/**
 * The merge the writer's SQL path performs (with the cutoff's `iat`/`auth_time` kept in its column) (`RulesRepository.writeRevocation`: insert, or lock
 * and update, through PostgreSQL's timestamptz and back) is the lib's `mergeRevocation`, the one
 * the dry run and the RFC 7009 in-force check use.
 */
describe(`${RulesRepository.name}.writeRevocation merges as mergeRevocation`, () => {
  let database: MigratedDatabase;
  let dataSource: DataSource;
  const rules = new RulesRepository();
  const meta = { source: 'operator', sourceEventId: null, reason: 'merge spec' };

  beforeAll(async () => {
    database = await startMigratedDatabase('rules_merge');
    ({ dataSource } = database);
  });

  afterAll(() => database?.close());

  it('stores what mergeRevocation makes of each revocation, after reinstatements and expiries too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const value = randomUUID();
        await dataSource.transaction(async (em) => {
          let model: StoredCutoffs | null = null;
          for (const s of steps) {
            if (typeof s === 'string') {
              const held = await rules.lock(em, 'rule_key', `sub::${value}`);
              if (held === undefined || held.status !== 'active') {
                continue;
              }
              await rules.update(em, held.id, { ...held, status: s, ...meta });
              model = { ...model!, active: false };
              continue;
            }
            const { cutoff, ...cutoffs } = s;
            const spec = {
              claim: 'sub',
              value,
              iss: null,
              ...cutoffs,
              ...(cutoff ? { cutoff } : {}),
            };
            const expected = mergeRevocation(model, spec);
            const { after } = await rules.writeRevocation(em, spec, meta);
            expect(cutoffsOf(after)).toEqual({ active: true, ...expected });
            const reread = await rules.lock(em, 'id', after.id);
            expect(cutoffsOf(reread!)).toEqual({ active: true, ...expected });
            model = cutoffsOf(reread!);
          }
        });
      }),
      { numRuns: 40 },
    );
  });
});
