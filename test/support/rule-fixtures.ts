import { InvalidEventError } from '../../apps/revocation-writer/src/errors';
import { RulePolicy } from '../../apps/revocation-writer/src/write-path/rule-policy';
import type { StoredRule } from '../../apps/revocation-writer/src/write-path/stored-rule';

/** Fixtures of the writer's rule unit specs: one policy, one stored rule, the pointers of a 422. */
export const DAY = 86_400_000;
export const NOW = Date.parse('2026-11-22T12:00:00Z');
export const policy = new RulePolicy({
  rules: {
    maxTokenLifetimeMs: DAY,
    maxGrantLifetimeMs: 14 * DAY,
    customClaims: ['device_id'],
    broadClaims: ['iss', 'kid'],
    bulkConfirmThreshold: 100,
    pruneIntervalMs: 60_000,
  },
  issuers: [],
});

export function stored(overrides: Partial<StoredRule> = {}): StoredRule {
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

export function pointersOf(run: () => unknown): string[] {
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
