import { randomUUID } from 'node:crypto';
import { ruleKey } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import { type CheckDecision, DecisionCounts, decide, type ListState } from './decision';
import type { StalenessPolicy } from './freshness';

const POLICIES: StalenessPolicy[] = ['fail-closed', 'fail-open', 'keep-last'];

/** Every combination the consumer can be in (`stale` is always true before `ready`). */
const STATES: Array<[string, ListState]> = [
  ['fresh', { ready: true, stale: false, loaded: true }],
  ['ready but stale', { ready: true, stale: true, loaded: true }],
  ['not ready, a list loaded', { ready: false, stale: true, loaded: true }],
  ['not ready, no list loaded', { ready: false, stale: true, loaded: false }],
];

/** A list revoking alice's tokens issued before t=1000 s. */
function list(): DenyList {
  const denyList = new DenyList();
  denyList.apply({
    v: 1,
    type: 'rule.set',
    key: ruleKey({ claim: 'sub', value: 'alice' }),
    seq: 1,
    revocationId: randomUUID(),
    committedAt: 0,
    rule: { claim: 'sub', value: 'alice', iss: null, revokedBefore: 1_000_000, expiresAt: null },
  });
  return denyList;
}

const revokedToken = { sub: 'alice', iat: 999 };
/** Matches the rule but was issued after its cut-off: not revoked. */
const laterToken = { sub: 'alice', iat: 1000 };
const otherToken = { sub: 'bob', iat: 0 };

describe(decide.name, () => {
  describe.each(POLICIES)('%s', (policy) => {
    it.each(STATES)('denies a revoked token, naming the rule, when %s', (_name, state) => {
      expect(decide(list(), revokedToken, state, policy)).toEqual({
        allowed: false,
        revoked: true,
        reason: 'revoked',
        rule: expect.objectContaining({ key: 'sub::alice', seq: 1 }),
      });
    });

    it('allows a token the list does not revoke while the list is fresh', () => {
      const [, fresh] = STATES[0]!;
      for (const token of [otherToken, laterToken]) {
        expect(decide(list(), token, fresh, policy)).toEqual({
          allowed: true,
          revoked: false,
          reason: 'allowed',
        });
      }
    });
  });

  it.each<[string, StalenessPolicy, ListState, CheckDecision['reason']]>([
    ['fail-closed denies as stale once ready', 'fail-closed', STATES[1]![1], 'stale'],
    ['fail-closed denies as not ready before', 'fail-closed', STATES[2]![1], 'not-ready'],
    ['fail-closed denies as not ready, nothing loaded', 'fail-closed', STATES[3]![1], 'not-ready'],
    ['fail-open allows once ready', 'fail-open', STATES[1]![1], 'stale-allowed'],
    ['fail-open allows before ready', 'fail-open', STATES[2]![1], 'stale-allowed'],
    ['fail-open allows even with no list loaded', 'fail-open', STATES[3]![1], 'stale-allowed'],
    ['keep-last allows once ready', 'keep-last', STATES[1]![1], 'stale-allowed'],
    ['keep-last allows a list loaded before ready', 'keep-last', STATES[2]![1], 'stale-allowed'],
    ['keep-last denies as not ready with no list loaded', 'keep-last', STATES[3]![1], 'not-ready'],
  ])('while stale, for a token not revoked: %s', (_name, policy, state, reason) => {
    expect(decide(list(), otherToken, state, policy)).toEqual({
      allowed: reason === 'stale-allowed',
      revoked: false,
      reason,
    });
  });

  it('answers a token not revoked with one frozen object per reason: the request path allocates nothing', () => {
    const denyList = list();
    for (const policy of POLICIES) {
      for (const [, state] of STATES) {
        const first = decide(denyList, otherToken, state, policy);
        expect(decide(denyList, laterToken, state, policy)).toBe(first);
        expect(Object.isFrozen(first)).toBe(true);
      }
    }
  });
});

describe(DecisionCounts.name, () => {
  it('counts every decision under its reason', () => {
    const counts = new DecisionCounts();
    const denyList = list();
    const [fresh, stale, notReady] = [STATES[0]![1], STATES[1]![1], STATES[3]![1]];
    counts.count(decide(denyList, otherToken, fresh, 'fail-closed'));
    counts.count(decide(denyList, laterToken, fresh, 'fail-closed'));
    counts.count(decide(denyList, revokedToken, stale, 'fail-open'));
    counts.count(decide(denyList, otherToken, stale, 'fail-open'));
    counts.count(decide(denyList, otherToken, stale, 'fail-closed'));
    counts.count(decide(denyList, otherToken, notReady, 'keep-last'));
    expect(counts.byReason()).toEqual({
      allowed: 2,
      revoked: 1,
      'stale-allowed': 1,
      stale: 1,
      'not-ready': 1,
    });
  });
});
