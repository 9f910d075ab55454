import { InvalidEventError } from '../errors';
import type { StoredRule } from '../rules/rule';
import { RulePolicy } from '../rules/rule-policy';
import { CLOCK_SKEW_MS, planRevocation, reinstatement, toRuleSpecs } from './operator-rules';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-22T12:00:00Z');
const policy = new RulePolicy({
  rules: {
    maxTokenLifetimeMs: DAY,
    customClaims: ['device_id'],
    broadClaims: ['iss', 'kid'],
    bulkConfirmThreshold: 100,
    pruneIntervalMs: 60_000,
  },
  issuers: [],
});

function stored(overrides: Partial<StoredRule> = {}): StoredRule {
  return {
    id: '6f1c1f7e-3f55-4c1e-9d7a-2b1f0f6f9c11',
    key: 'sub::alice',
    claim: 'sub',
    value: 'alice',
    iss: null,
    revokedBefore: NOW - DAY,
    expiresAt: NOW,
    seq: 7,
    status: 'active',
    source: 'operator',
    sourceEventId: null,
    reason: 'r',
    createdAt: NOW - DAY,
    updatedAt: NOW - DAY,
    removedAt: null,
    ...overrides,
  };
}

function pointersOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidEventError) {
      return error.errors.map((e) => e.pointer);
    }
    throw error;
  }
  throw new Error('expected an InvalidEventError');
}

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
      { claim: 'sid', value: 's', iss: null, revokedBefore: null, expiresAt: NOW + DAY },
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
});

describe(reinstatement.name, () => {
  const options = { policy, nowMs: NOW };

  it('removes the rule keeping its values (consumers remember the removal until expiresAt)', () => {
    expect(reinstatement(stored(), undefined, options)).toEqual({
      action: 'rule.reinstated',
      status: 'reinstated',
      revokedBefore: NOW - DAY,
      expiresAt: NOW,
    });
  });

  it('lowers to an earlier instant and recomputes expiresAt from it', () => {
    expect(reinstatement(stored(), NOW - 2 * DAY, options)).toEqual({
      action: 'rule.lowered',
      status: 'active',
      revokedBefore: NOW - 2 * DAY,
      expiresAt: NOW - DAY,
    });
    expect(reinstatement(stored({ revokedBefore: null }), NOW - DAY, options)).toMatchObject({
      revokedBefore: NOW - DAY,
    });
  });

  it('refuses an instant that is not lower than the current one', () => {
    expect(pointersOf(() => reinstatement(stored(), NOW - DAY, options))).toEqual([
      '/revokedBefore',
    ]);
    expect(pointersOf(() => reinstatement(stored(), NOW, options))).toEqual(['/revokedBefore']);
  });
});
