import { ruleKey } from '@rescind/contracts';
import { mergeRevocation, type RuleCutoffs, type StoredCutoffs } from '@rescind/rules';
import fc from 'fast-check';
import { DAY, NOW, pointersOf, policy, stored } from '../../../../test/support/rule-fixtures';
import { cutoffsOf } from '../write-path/stored-rule';
import { CLOCK_SKEW_MS, planRevocation, toRuleSpecs } from './operator-rules';

describe(toRuleSpecs.name, () => {
  const specs = (rules: Parameters<typeof toRuleSpecs>[0]) =>
    toRuleSpecs(rules, { policy, receivedAtMs: NOW });

  it('defaults revokedBefore to null for single-token claims and to the receive time otherwise', () => {
    expect(
      specs([
        { claim: 'jti', value: 't' },
        { claim: 'sid', value: 's' },
        { claim: 'sub', value: 'u', iss: 'https://idp.example' },
        { claim: 'device_id', value: 'd' },
      ]),
    ).toEqual([
      { claim: 'jti', value: 't', iss: null, revokedBefore: null, expiresAt: NOW + DAY },
      // A session mints for as long as it lives: the grant lifetime, and one token lifetime more.
      { claim: 'sid', value: 's', iss: null, revokedBefore: null, expiresAt: NOW + 15 * DAY },
      {
        claim: 'sub',
        value: 'u',
        iss: 'https://idp.example',
        revokedBefore: NOW,
        expiresAt: NOW + DAY,
      },
      { claim: 'device_id', value: 'd', iss: null, revokedBefore: NOW, expiresAt: NOW + DAY },
    ]);
  });

  it('keeps an explicit null (every token, never expires for a user) and an instant in the past', () => {
    expect(
      specs([
        { claim: 'sub', value: 'u', revokedBefore: null },
        { claim: 'sub', value: 'v', revokedBefore: '2026-11-22T13:00:00+02:00' },
      ]),
    ).toEqual([
      expect.objectContaining({ revokedBefore: null, expiresAt: null }),
      expect.objectContaining({ revokedBefore: NOW - 3_600_000, expiresAt: NOW - 3_600_000 + DAY }),
    ]);
  });

  it('takes an instant within the clock skew as the receive time and refuses one beyond it', () => {
    const ahead = (ms: number) => new Date(NOW + ms).toISOString();
    expect(
      specs([{ claim: 'sub', value: 'u', revokedBefore: ahead(CLOCK_SKEW_MS) }])[0]!.revokedBefore,
    ).toBe(NOW);
    expect(
      pointersOf(() =>
        specs([{ claim: 'sub', value: 'u', revokedBefore: ahead(CLOCK_SKEW_MS + 1) }]),
      ),
    ).toEqual(['/rules/0/revokedBefore']);
  });

  it('names every problem at once: claim not configured, raw token, token_hash not a digest, before 1970', () => {
    expect(
      pointersOf(() =>
        specs([
          { claim: 'email', value: 'a@example.com' },
          { claim: 'jti', value: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.sig' },
          { claim: 'token_hash', value: 'raw-opaque-token' },
          { claim: 'sub', value: 'u', revokedBefore: '1969-12-31T23:59:59Z' },
        ]),
      ),
    ).toEqual(['/rules/0/claim', '/rules/1/value', '/rules/2/value', '/rules/3/revokedBefore']);
  });
});

describe(planRevocation.name, () => {
  const spec = (revokedBefore: number | null, expiresAt: number | null = null) => ({
    claim: 'sub',
    value: 'alice',
    iss: null,
    revokedBefore,
    expiresAt,
  });

  it('creates what is not stored', () => {
    expect(planRevocation([spec(NOW, NOW + DAY)], new Map())).toEqual([
      expect.objectContaining({
        key: 'sub::alice',
        effect: 'create',
        revokedBefore: NOW,
        current: null,
      }),
    ]);
  });

  it('raises an active rule to the later instants, null dominating, and says when nothing changes', () => {
    const current = stored();
    const map = new Map([[current.key, current]]);
    expect(planRevocation([spec(NOW, NOW + DAY)], map)[0]).toMatchObject({
      effect: 'raise',
      revokedBefore: NOW,
      expiresAt: NOW + DAY,
      current,
    });
    expect(planRevocation([spec(NOW - 2 * DAY, NOW - DAY)], map)[0]).toMatchObject({
      effect: 'unchanged',
      revokedBefore: NOW - DAY,
      expiresAt: NOW,
    });
    expect(planRevocation([spec(null, null)], map)[0]).toMatchObject({
      effect: 'raise',
      revokedBefore: null,
      expiresAt: null,
    });
  });

  it('reactivates a reinstated or expired rule with the new values, not merged with the old', () => {
    for (const status of ['reinstated', 'expired'] as const) {
      const current = stored({ status, revokedBefore: null, expiresAt: null });
      expect(
        planRevocation([spec(NOW, NOW + DAY)], new Map([[current.key, current]]))[0],
      ).toMatchObject({
        effect: 'reactivate',
        revokedBefore: NOW,
        expiresAt: NOW + DAY,
      });
    }
  });

  it('folds several specs for one key in request order, as the transaction would', () => {
    expect(
      planRevocation([spec(NOW), spec(NOW - DAY), spec(NOW + 1)], new Map()).map((p) => [
        p.effect,
        p.revokedBefore,
      ]),
    ).toEqual([
      ['create', NOW],
      ['unchanged', NOW],
      ['raise', NOW + 1],
    ]);
  });

  it('folds as sequential merges: each planned rule is mergeRevocation of the one before it on its key', () => {
    const bound = fc.option(fc.integer({ min: 0, max: 20 }), { nil: null, freq: 4 });
    const value = fc.constantFrom('alice', 'bob', 'carol');
    fc.assert(
      fc.property(
        fc.array(fc.record({ value, revokedBefore: bound, expiresAt: bound }), { maxLength: 12 }),
        fc.uniqueArray(
          fc.record({
            value,
            status: fc.constantFrom('active', 'reinstated', 'expired'),
            revokedBefore: bound,
            expiresAt: bound,
          }),
          { selector: (r) => r.value, maxLength: 3 },
        ),
        (requests, storedRules) => {
          const specs = requests.map((r) => ({ claim: 'sub', iss: null, ...r }));
          const map = new Map(
            storedRules.map((r) => {
              const rule = stored({
                ...r,
                key: ruleKey({ claim: 'sub', value: r.value, iss: null }),
              });
              return [rule.key, rule];
            }),
          );
          const state = new Map<string, StoredCutoffs>(
            [...map].map(([key, rule]) => [key, cutoffsOf(rule)]),
          );
          const plan = planRevocation(specs, map);
          specs.forEach((spec, i) => {
            const key = ruleKey(spec);
            const before = state.get(key) ?? null;
            const next: RuleCutoffs = mergeRevocation(before, spec);
            expect(plan[i]).toMatchObject({ key, ...next, current: map.get(key) ?? null });
            const unchanged =
              before?.active === true &&
              next.revokedBefore === before.revokedBefore &&
              next.expiresAt === before.expiresAt;
            const effect = !before
              ? 'create'
              : !before.active
                ? 'reactivate'
                : unchanged
                  ? 'unchanged'
                  : 'raise';
            expect(plan[i]!.effect).toBe(effect);
            state.set(key, { active: true, ...next });
          });
        },
      ),
    );
  });
});
