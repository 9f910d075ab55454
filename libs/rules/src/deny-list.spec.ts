import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import fc from 'fast-check';
import { DenyList } from './deny-list';
import { ruleExpiresAt } from './rule';

const ISS = 'https://idp.example';
let nextId = 0;
const uuid = (): string => `00000000-0000-4000-8000-${String(++nextId).padStart(12, '0')}`;

function set(
  seq: number,
  claim: string,
  value: string,
  revokedBefore: number | null,
  iss: string | null = null,
  expiresAt: number | null = null,
): InvalidationEventV1 {
  return {
    v: 1,
    type: 'rule.set',
    key: ruleKey({ claim, value, iss }),
    seq,
    revocationId: uuid(),
    committedAt: 0,
    rule: { claim, value, iss, revokedBefore, expiresAt },
  };
}

function removed(
  seq: number,
  claim: string,
  value: string,
  iss: string | null = null,
): InvalidationEventV1 {
  return {
    v: 1,
    type: 'rule.removed',
    key: ruleKey({ claim, value, iss }),
    seq,
    revocationId: uuid(),
    committedAt: 0,
    rule: { claim, value, iss },
    expiresAt: null,
  };
}

describe(DenyList.name, () => {
  describe('matching', () => {
    describe("cutoff: 'auth_time'", () => {
      const CUTOFF = 1_700_000_000_000;
      const authTimeRule = (seq: number): InvalidationEventV1 => {
        const event = set(seq, 'sub', 'alice', CUTOFF, ISS);
        return event.type === 'rule.set'
          ? { ...event, rule: { ...event.rule, cutoff: 'auth_time' } }
          : event;
      };
      const loginBefore = 1_699_999_000;
      const refreshedAfter = 1_700_000_500;

      it('revokes a token refreshed after the cutoff from a login before it, and spares a new login', () => {
        const list = new DenyList();
        list.apply(authTimeRule(1));
        const old = { sub: 'alice', iss: ISS, iat: refreshedAfter, auth_time: loginBefore };
        expect(list.check(old).revoked).toBe(true);
        const fresh = { sub: 'alice', iss: ISS, iat: refreshedAfter, auth_time: 1_700_000_100 };
        expect(list.check(fresh).revoked).toBe(false);
        // Equality is not before, as for iat.
        expect(list.check({ ...fresh, auth_time: CUTOFF / 1000 }).revoked).toBe(false);
      });

      it('judges a token without a numeric auth_time by its iat, and never by an auth_time after iat', () => {
        const list = new DenyList();
        list.apply(authTimeRule(1));
        expect(list.check({ sub: 'alice', iss: ISS, iat: refreshedAfter }).revoked).toBe(false);
        expect(list.check({ sub: 'alice', iss: ISS, iat: loginBefore }).revoked).toBe(true);
        const text = {
          sub: 'alice',
          iss: ISS,
          iat: refreshedAfter,
          auth_time: '1' as unknown as number,
        };
        expect(list.check(text).revoked).toBe(false);
        const nan = { sub: 'alice', iss: ISS, iat: refreshedAfter, auth_time: Number.NaN };
        expect(list.check(nan).revoked).toBe(false);
        // auth_time later than iat cannot make an old token look new.
        const skewed = { sub: 'alice', iss: ISS, iat: loginBefore, auth_time: refreshedAfter };
        expect(list.check(skewed).revoked).toBe(true);
      });

      it('leaves rules on iat deaf to auth_time', () => {
        const list = new DenyList();
        list.apply(set(1, 'sub', 'alice', CUTOFF, ISS));
        const refreshed = { sub: 'alice', iss: ISS, iat: refreshedAfter, auth_time: loginBefore };
        expect(list.check(refreshed).revoked).toBe(false);
      });

      it('keeps the cutoff in the versions it hands out, and forgets it with the next version', () => {
        const list = new DenyList();
        expect(list.apply(authTimeRule(1))).toMatchObject({ cutoff: 'auth_time' });
        expect(list.get('sub', 'alice', ISS)).toMatchObject({ cutoff: 'auth_time' });
        expect([...list.versions()][0]).toMatchObject({ cutoff: 'auth_time' });
        list.apply(set(2, 'sub', 'alice', CUTOFF, ISS));
        expect(list.get('sub', 'alice', ISS)).not.toHaveProperty('cutoff');
        const refreshed = { sub: 'alice', iss: ISS, iat: refreshedAfter, auth_time: loginBefore };
        expect(list.check(refreshed).revoked).toBe(false);
      });
    });

    it('revokes a token whose iat is before revokedBefore and spares one issued after', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', 1_700_000_000_500));
      expect(list.check({ sub: 'alice', iat: 1_700_000_000 }).revoked).toBe(true);
      expect(list.check({ sub: 'alice', iat: 1_700_000_001 }).revoked).toBe(false);
      expect(list.check({ sub: 'bob', iat: 1_600_000_000 }).revoked).toBe(false);
    });

    it('does not revoke at equality: iat * 1000 === revokedBefore is not strictly before', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', 1_700_000_000_000));
      expect(list.check({ sub: 'alice', iat: 1_700_000_000 }).revoked).toBe(false);
      expect(list.check({ sub: 'alice', iat: 1_699_999_999.999 }).revoked).toBe(true);
    });

    it('treats a token without iat as issued at the beginning of time', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', 1));
      expect(list.check({ sub: 'alice' }).revoked).toBe(true);
      expect(list.check({ sub: 'alice', iat: Number.NaN }).revoked).toBe(true);
    });

    it('revokes every matching token when revokedBefore is null', () => {
      const list = new DenyList();
      list.apply(set(1, 'jti', 'tok-1', null));
      expect(list.check({ jti: 'tok-1', iat: 4_000_000_000 }).revoked).toBe(true);
    });

    it('restricts an issuer-scoped rule to tokens of that issuer', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', null, ISS));
      expect(list.check({ sub: 'alice', iss: ISS }).revoked).toBe(true);
      expect(list.check({ sub: 'alice', iss: 'https://other.example' }).revoked).toBe(false);
      expect(list.check({ sub: 'alice' }).revoked).toBe(false);
    });

    it('matches client_id rules on azp when the token has no client_id', () => {
      const list = new DenyList();
      list.apply(set(1, 'client_id', 'app-1', null));
      expect(list.check({ azp: 'app-1' }).revoked).toBe(true);
      expect(list.check({ client_id: 'app-2', azp: 'app-1' }).revoked).toBe(false);
    });

    it('compares claims exactly, as JWT claims are (RFC 7519 §7.3): an NFD rule does not match an NFC claim', () => {
      const nfd = 'Jose\u0301';
      const nfc = nfd.normalize('NFC'); // 'José'
      const list = new DenyList();
      list.apply(set(1, 'sub', nfd, null, ISS));
      expect(list.check({ sub: nfd, iss: ISS }).revoked).toBe(true);
      expect(list.check({ sub: nfc, iss: ISS }).revoked).toBe(false);
      expect(list.check({ sub: nfd, iss: ISS.toUpperCase() }).revoked).toBe(false);
    });

    it('matches no rule with a lone surrogate in a token claim (the key of such a claim stays total)', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'a\ufffdb', null));
      expect(list.check({ sub: 'a\ud800b' }).revoked).toBe(false);
      expect(ruleKey({ claim: 'sub', value: 'a\ud800b' })).toBe('sub::a%uD800b');
    });

    it('answers with the rule that matched', () => {
      const list = new DenyList();
      const event = set(7, 'sid', 'session-9', null);
      list.apply(event);
      const decision = list.check({ sid: 'session-9' });
      expect(decision.revoked).toBe(true);
      expect(decision.revoked && decision.rule).toMatchObject({
        key: event.key,
        seq: 7,
        claim: 'sid',
        removed: false,
      });
    });
  });

  describe('seq ordering', () => {
    it('ignores an event older than or equal to the stored version', () => {
      const list = new DenyList();
      expect(list.apply(set(5, 'sub', 'alice', 2000))).toBeDefined();
      expect(list.apply(set(4, 'sub', 'alice', 9000))).toBeUndefined();
      expect(list.apply(set(5, 'sub', 'alice', 9000))).toBeUndefined();
      expect(list.get('sub', 'alice', null)?.revokedBefore).toBe(2000);
    });

    it('lets a newer removal win over an older rule and keeps ignoring the older rule', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', null));
      list.apply(removed(2, 'sub', 'alice'));
      expect(list.check({ sub: 'alice' }).revoked).toBe(false);
      expect(list.apply(set(1, 'sub', 'alice', null))).toBeUndefined();
      expect(list.check({ sub: 'alice' }).revoked).toBe(false);
      expect(list.size).toBe(0);
    });

    const eventArb = fc
      .record({
        seq: fc.integer({ min: 1, max: 40 }),
        value: fc.constantFrom('alice', 'bob', 'carol'),
        iss: fc.constantFrom(null, ISS),
        kind: fc.constantFrom('set', 'set', 'removed'),
        revokedBefore: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
      })
      .map(({ seq, value, iss, kind, revokedBefore }) =>
        kind === 'set'
          ? set(seq, 'sub', value, revokedBefore, iss)
          : removed(seq, 'sub', value, iss),
      );
    // seq is unique per change in the writer, so generated histories have unique seqs.
    const historyArb = fc.uniqueArray(eventArb, { selector: (e) => e.seq, maxLength: 30 });

    function snapshot(list: DenyList): unknown[] {
      return [...list.versions()]
        .map((v) => ({
          key: v.key,
          seq: v.seq,
          removed: v.removed,
          revokedBefore: v.revokedBefore,
        }))
        .sort((a, b) => a.key.localeCompare(b.key));
    }

    it('converges to the same state whatever the order and repetition of deliveries', () => {
      fc.assert(
        fc.property(historyArb, fc.integer(), (history, seed) => {
          const inOrder = new DenyList();
          [...history].sort((a, b) => a.seq - b.seq).forEach((e) => inOrder.apply(e));

          const shuffled = new DenyList();
          const random = fc.sample(fc.shuffledSubarray(history, { minLength: history.length }), {
            seed,
            numRuns: 1,
          })[0]!;
          [...random, ...random.slice(0, 5)].forEach((e) => shuffled.apply(e));

          expect(snapshot(shuffled)).toEqual(snapshot(inOrder));
          expect(shuffled.size).toBe(inOrder.size);
          expect(shuffled.lastSeq).toBe(inOrder.lastSeq);
        }),
      );
    });

    it('keeps, per key, exactly the version with the highest seq', () => {
      fc.assert(
        fc.property(historyArb, (history) => {
          const list = new DenyList();
          history.forEach((e) => list.apply(e));
          for (const version of list.versions()) {
            const highest = Math.max(
              ...history.filter((e) => e.key === version.key).map((e) => e.seq),
            );
            expect(version.seq).toBe(highest);
          }
          const live = new Set(
            history
              .filter((e) => history.every((o) => o.key !== e.key || o.seq <= e.seq))
              .filter((e) => e.type === 'rule.set')
              .map((e) => e.key),
          );
          expect(list.size).toBe(live.size);
        }),
      );
    });
  });

  describe('expiry', () => {
    it('drops versions whose expiresAt has passed and keeps the others', () => {
      const list = new DenyList();
      list.apply(set(1, 'sub', 'alice', 1000, null, 5000));
      list.apply(set(2, 'sub', 'bob', 1000, ISS, 9000));
      list.apply(set(3, 'jti', 'tok', null, null, null));
      expect(list.pruneExpired(5000)).toBe(1);
      expect(list.check({ sub: 'alice', iat: 0 }).revoked).toBe(false);
      expect(list.check({ sub: 'bob', iss: ISS, iat: 0 }).revoked).toBe(true);
      expect(list.size).toBe(2);
      expect(list.pruneExpired(10_000)).toBe(1);
      expect(list.size).toBe(1);
    });
  });
});

describe(ruleExpiresAt.name, () => {
  const base = { maxLifetimeMs: 1000, nowMs: 50_000 };

  it('expires a rule with revokedBefore one token lifetime after it', () => {
    expect(ruleExpiresAt({ ...base, claim: 'sub', revokedBefore: 7000 })).toBe(8000);
  });

  it('expires a single-token rule with the token, or one lifetime from now', () => {
    expect(
      ruleExpiresAt({ ...base, claim: 'jti', revokedBefore: null, tokenExpiresAtMs: 60_000 }),
    ).toBe(60_000);
    expect(ruleExpiresAt({ ...base, claim: 'sid', revokedBefore: null })).toBe(51_000);
  });

  it('never expires an all-tokens rule on a user, client, key or issuer', () => {
    for (const claim of ['sub', 'client_id', 'kid', 'iss', 'device_id']) {
      expect(ruleExpiresAt({ ...base, claim, revokedBefore: null })).toBeNull();
    }
  });
});

describe('DenyList expiry buckets', () => {
  it('prunes exactly the versions that are due, whatever the interleaving of updates', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            value: fc.constantFrom('a', 'b', 'c', 'd'),
            expiresAt: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
          }),
          { maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 5 }),
        (updates, pruneTimes) => {
          const list = new DenyList();
          updates.forEach((u, i) =>
            list.apply(set(i + 1, 'sub', u.value, null, null, u.expiresAt)),
          );
          for (const now of [...pruneTimes].sort((x, y) => x - y)) {
            list.pruneExpired(now);
            for (const version of list.versions()) {
              expect(version.expiresAt === null || version.expiresAt > now).toBe(true);
            }
            // Everything not yet due is still there.
            const latest = new Map(updates.map((u) => [u.value, u.expiresAt]));
            for (const [value, expiresAt] of latest) {
              const kept = list.get('sub', value, null) !== undefined;
              expect(kept).toBe(expiresAt === null || expiresAt > now);
            }
          }
        },
      ),
    );
  });
});

describe('DenyList.versions interleaved with changes', () => {
  it('yields every version stored at the start and untouched until the end exactly once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          // Rules that expire early are pruned mid-iteration: their slots empty out and the
          // hash table shifts later entries of the same run backwards.
          fc.record({ value: fc.integer({ min: 0, max: 299 }), expiresEarly: fc.boolean() }),
          { minLength: 1, maxLength: 150, selector: (r) => r.value },
        ),
        fc.array(
          fc.record({
            kind: fc.constantFrom('set', 'remove', 'prune', 'prune'),
            value: fc.integer({ min: 0, max: 299 }),
          }),
          { maxLength: 300 },
        ),
        (initial, changes) => {
          const list = new DenyList();
          let seq = 0;
          const touched = new Set<string>();
          for (const { value, expiresEarly } of initial) {
            list.apply(set(++seq, 'sub', `u${value}`, null, null, expiresEarly ? 1 : 10_000));
            if (expiresEarly) {
              touched.add(`u${value}`);
            }
          }
          const yielded: string[] = [];
          const iterator = list.versions();
          let step = 0;
          // Between two steps of the iteration: new rules, updates, removals and prunes.
          for (let next = iterator.next(); !next.done; next = iterator.next()) {
            yielded.push(next.value.value);
            const change = changes[step++];
            const value = `u${change?.value}`;
            if (change?.kind === 'set') {
              touched.add(value);
              list.apply(set(++seq, 'sub', value, null, null, 20_000));
            } else if (change?.kind === 'remove') {
              touched.add(value);
              list.apply(removed(++seq, 'sub', value));
            } else if (change?.kind === 'prune') {
              list.pruneExpired(2);
            }
          }
          for (const { value } of initial.filter((r) => !touched.has(`u${r.value}`))) {
            expect([`u${value}`, yielded.filter((y) => y === `u${value}`).length]).toEqual([
              `u${value}`,
              1,
            ]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
