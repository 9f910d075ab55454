import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import fc from 'fast-check';
import { DenyList } from './deny-list';
import { type Decision, revokes, type RuleVersion, type TokenClaims } from './rule';

function withoutIatCutoff<R extends { cutoff?: string; revokedBefore: number | null }>(rule: R): R {
  const { cutoff, ...rest } = rule;
  return cutoff === 'auth_time' && rule.revokedBefore !== null ? rule : (rest as R);
}

/**
 * The deny-list's semantics in their plainest form (one object per version, Maps of Maps, a
 * full scan to prune), as the oracle the compact DenyList must agree with on every answer:
 * - per rule identity (claim, value, iss) the version with the highest seq wins;
 * - check visits claims in the order they first got a version (again at the end once pruning
 *   emptied them), and within a claim the issuer-independent version before the one for the
 *   token's iss; client_id falls back to azp;
 * - pruning drops every version whose expiresAt is at or before now.
 */
class ModelDenyList {
  private readonly claims = new Map<string, Map<string, RuleVersion>>();
  private highestSeq = 0;

  get size(): number {
    let live = 0;
    for (const version of this.versions()) {
      live += version.removed ? 0 : 1;
    }
    return live;
  }

  get lastSeq(): number {
    return this.highestSeq;
  }

  apply(event: InvalidationEventV1): RuleVersion | undefined {
    const { claim, value, iss } = event.rule;
    const current = this.get(claim, value, iss);
    if (current && current.seq >= event.seq) {
      return undefined;
    }
    const version: RuleVersion =
      event.type === 'rule.set'
        ? {
            // A version names its cutoff only when it is auth_time and there is a cutoff at all
            // (`revokedBefore: null` revokes every token whatever it is compared with).
            ...withoutIatCutoff(event.rule),
            key: event.key,
            seq: event.seq,
            revocationId: event.revocationId,
            removed: false,
          }
        : {
            claim,
            value,
            iss,
            revokedBefore: null,
            expiresAt: event.expiresAt,
            key: event.key,
            seq: event.seq,
            revocationId: event.revocationId,
            removed: true,
          };
    let versions = this.claims.get(claim);
    if (versions === undefined) {
      versions = new Map();
      this.claims.set(claim, versions);
    }
    versions.set(identity(value, iss), version);
    this.highestSeq = Math.max(this.highestSeq, event.seq);
    return version;
  }

  check(claims: TokenClaims): Decision {
    for (const [claim, versions] of this.claims) {
      const value = claim === 'client_id' ? (claims.client_id ?? claims.azp) : claims[claim];
      if (typeof value !== 'string') {
        continue;
      }
      const candidates = [versions.get(identity(value, null))];
      if (typeof claims.iss === 'string') {
        candidates.push(versions.get(identity(value, claims.iss)));
      }
      for (const rule of candidates) {
        if (rule !== undefined && !rule.removed && revokes(rule, claims.iat, claims.auth_time)) {
          return { revoked: true, rule };
        }
      }
    }
    return { revoked: false };
  }

  get(claim: string, value: string, iss: string | null): RuleVersion | undefined {
    return this.claims.get(claim)?.get(identity(value, iss));
  }

  pruneExpired(nowMs: number): number {
    let dropped = 0;
    for (const [claim, versions] of this.claims) {
      for (const [id, version] of versions) {
        if (version.expiresAt !== null && version.expiresAt <= nowMs) {
          versions.delete(id);
          dropped += 1;
        }
      }
      if (versions.size === 0) {
        this.claims.delete(claim);
      }
    }
    return dropped;
  }

  *versions(): IterableIterator<RuleVersion> {
    for (const versions of this.claims.values()) {
      yield* versions.values();
    }
  }
}

function identity(value: string, iss: string | null): string {
  return JSON.stringify([value, iss]);
}

function sorted(versions: Iterable<RuleVersion>): RuleVersion[] {
  return [...versions].sort((a, b) =>
    identity(a.claim + a.value, a.iss).localeCompare(identity(b.claim + b.value, b.iss)),
  );
}

const CLAIMS = ['sub', 'jti', 'sid', 'client_id', 'iss', 'kid', 'token_hash', 'device_id'];
/** Values in every packing: Latin-1, digits, hex, UUIDs (lower and upper), UTF-16, long. */
const VALUES = [
  'alice',
  'bob',
  '108214356021843456789',
  '7',
  'deadbeef',
  'abc',
  '9f1c6a3e-8d2b-4c7a-9e10-2b3c4d5e6f70',
  '9F1C6A3E-8D2B-4C7A-9E10-2B3C4D5E6F70',
  'jürgen',
  '用户-42',
  '\ud800lone',
  'auth0|64f1c2a9b3e4d5f6a7b8c9d0',
  'x'.repeat(300),
];
const ISSUERS = [null, 'https://idp.example', 'https://other.example', ''];
const REVOCATION_IDS = [
  '00000000-0000-4000-8000-000000000001',
  '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D',
  'not-a-uuid',
];

const eventArb: fc.Arbitrary<InvalidationEventV1> = fc
  .record({
    seq: fc.integer({ min: 1, max: 80 }),
    claim: fc.constantFrom(...CLAIMS),
    value: fc.constantFrom(...VALUES),
    iss: fc.constantFrom(...ISSUERS),
    removed: fc.boolean(),
    revokedBefore: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }),
    cutoff: fc.constantFrom(undefined, 'iat' as const, 'auth_time' as const),
    expiresAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }),
    revocationId: fc.constantFrom(...REVOCATION_IDS),
    oddKey: fc.boolean(),
  })
  .map((e) => {
    // ruleKey throws on a lone surrogate; the writer would never publish such a rule, but the
    // list must still hold it faithfully.
    const key = e.oddKey || e.value.includes('\ud800') ? `legacy/${e.value}` : ruleKey(e);
    const envelope = { v: 1 as const, key, seq: e.seq, revocationId: e.revocationId };
    return e.removed
      ? {
          ...envelope,
          type: 'rule.removed' as const,
          committedAt: 0,
          rule: { claim: e.claim, value: e.value, iss: e.iss },
          expiresAt: e.expiresAt,
        }
      : {
          ...envelope,
          type: 'rule.set' as const,
          committedAt: 0,
          rule: {
            claim: e.claim,
            value: e.value,
            iss: e.iss,
            revokedBefore: e.revokedBefore,
            ...(e.cutoff !== undefined ? { cutoff: e.cutoff } : {}),
            expiresAt: e.expiresAt,
          },
        };
  });

const tokenArb: fc.Arbitrary<TokenClaims> = fc
  .record(
    {
      sub: fc.constantFrom(...VALUES),
      jti: fc.constantFrom(...VALUES),
      sid: fc.constantFrom(...VALUES),
      client_id: fc.constantFrom(...VALUES),
      azp: fc.constantFrom(...VALUES),
      iss: fc.constantFrom(...ISSUERS.filter((i) => i !== null), ...VALUES),
      kid: fc.constantFrom(...VALUES),
      token_hash: fc.constantFrom(...VALUES),
      device_id: fc.oneof(fc.constantFrom(...VALUES), fc.integer()),
      iat: fc.oneof(fc.integer({ min: 0, max: 250 }), fc.constant(Number.NaN)),
      auth_time: fc.oneof(
        fc.integer({ min: 0, max: 250 }),
        fc.constant(Number.NaN),
        fc.constant('100'),
      ) as fc.Arbitrary<number>,
    },
    { requiredKeys: [] },
  )
  .map((claims) => claims as TokenClaims);

type Step =
  | { op: 'apply'; event: InvalidationEventV1 }
  | { op: 'check'; claims: TokenClaims }
  | { op: 'prune'; nowMs: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: eventArb.map((event) => ({ op: 'apply' as const, event })) },
  { weight: 3, arbitrary: tokenArb.map((claims) => ({ op: 'check' as const, claims })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 220_000 }).map((nowMs) => ({
      op: 'prune' as const,
      nowMs,
    })),
  },
);

/** What `list` answers to `step` (and does it). */
function answer(list: DenyList | ModelDenyList, step: Step): unknown {
  switch (step.op) {
    case 'apply':
      return list.apply(step.event);
    case 'check':
      return list.check(step.claims);
    case 'prune':
      return list.pruneExpired(step.nowMs);
  }
}

describe(`${DenyList.name} against the plain model`, () => {
  it('gives the same answer to every apply, check, get and prune', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 120 }), (steps) => {
        const list = new DenyList();
        const model = new ModelDenyList();
        for (const step of steps) {
          expect(answer(list, step)).toEqual(answer(model, step));
        }
        expect(list.size).toBe(model.size);
        expect(list.lastSeq).toBe(model.lastSeq);
        expect(sorted(list.versions())).toEqual(sorted(model.versions()));
        for (const claim of CLAIMS) {
          for (const value of VALUES) {
            for (const iss of ISSUERS) {
              expect(list.get(claim, value, iss)).toEqual(model.get(claim, value, iss));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('agrees through growth, expiry of most rules and regrowth of a large list', () => {
    let state = 42;
    const random = (): number => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return state / 4_294_967_296;
    };
    const list = new DenyList();
    const model = new ModelDenyList();
    const values: string[] = [];
    let seq = 0;
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 2000; i += 1) {
        const value =
          random() < 0.3 && values.length > 0
            ? values[Math.floor(random() * values.length)]!
            : `${round}-${i}-${Math.floor(random() * 1e9).toString(16)}`;
        values.push(value);
        seq += 1;
        const iss = random() < 0.5 ? null : ISSUERS[1 + Math.floor(random() * 2)]!;
        const event: InvalidationEventV1 = {
          v: 1,
          type: 'rule.set',
          key: ruleKey({ claim: 'sub', value, iss }),
          seq,
          revocationId: REVOCATION_IDS[1]!,
          committedAt: 0,
          rule: {
            claim: 'sub',
            value,
            iss,
            revokedBefore: 1000,
            expiresAt: random() < 0.1 ? null : Math.floor(random() * 100_000),
          },
        };
        expect(list.apply(event)).toEqual(model.apply(event));
      }
      for (const now of [20_000, 60_000, 100_000]) {
        expect(list.pruneExpired(now)).toBe(model.pruneExpired(now));
        expect(list.size).toBe(model.size);
        for (const value of values) {
          const claims = { sub: value, iat: 0, iss: ISSUERS[1 + (value.length % 2)]! };
          expect(list.check(claims)).toEqual(model.check(claims));
        }
      }
    }
    expect(sorted(list.versions())).toEqual(sorted(model.versions()));
  });
});
