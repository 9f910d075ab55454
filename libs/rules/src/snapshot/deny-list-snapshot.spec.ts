import { createHash } from 'node:crypto';
import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import fc from 'fast-check';
import { DenyList } from '../deny-list';
import type { RuleVersion, TokenClaims } from '../rule';
import { DenyListSnapshotError, type DenyListSnapshotErrorCode } from './snapshot-error';

const CLAIMS = ['sub', 'jti', 'sid', 'client_id', 'iss', 'kid', 'token_hash', 'device_id'];
/** Values in every packing, inline and in slabs: Latin-1, digits, hex, UUIDs, UTF-16, long. */
const VALUES = [
  'alice',
  '',
  '108214356021843456789',
  'deadbeef',
  '9f1c6a3e-8d2b-4c7a-9e10-2b3c4d5e6f70',
  '9F1C6A3E-8D2B-4C7A-9E10-2B3C4D5E6F70',
  'jürgen',
  '用户-42',
  '\ud800lone',
  'auth0|64f1c2a9b3e4d5f6a7b8c9d0',
  '0123456789abcdef0123456789abcdef01',
  'x'.repeat(300),
];
const ISSUERS = [null, 'https://idp.example', 'https://other.example', '', 'iss-\udc00'];
const REVOCATION_IDS = [
  '00000000-0000-4000-8000-000000000001',
  '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D',
  'not-a-uuid',
];

interface EventFields {
  seq: number;
  claim: string;
  value: string;
  iss: string | null;
  removed?: boolean;
  revokedBefore?: number | null;
  cutoff?: 'iat' | 'auth_time';
  expiresAt?: number | null;
  revocationId?: string;
  oddKey?: boolean;
}

function eventOf(e: EventFields): InvalidationEventV1 {
  const key = e.oddKey || e.value.includes('\ud800') ? `legacy/${e.value}` : ruleKey(e);
  const envelope = {
    v: 1 as const,
    key,
    seq: e.seq,
    revocationId: e.revocationId ?? REVOCATION_IDS[0]!,
    committedAt: 0,
  };
  const identity = { claim: e.claim, value: e.value, iss: e.iss };
  return e.removed === true
    ? { ...envelope, type: 'rule.removed', rule: identity, expiresAt: e.expiresAt ?? null }
    : {
        ...envelope,
        type: 'rule.set',
        rule: {
          ...identity,
          revokedBefore: e.revokedBefore ?? null,
          ...(e.cutoff !== undefined ? { cutoff: e.cutoff } : {}),
          expiresAt: e.expiresAt ?? null,
        },
      };
}

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
  .map(eventOf);

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
      device_id: fc.constantFrom(...VALUES),
      iat: fc.oneof(fc.integer({ min: 0, max: 250 }), fc.constant(Number.NaN)),
      auth_time: fc.integer({ min: 0, max: 250 }),
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
    arbitrary: fc
      .integer({ min: 0, max: 220_000 })
      .map((nowMs) => ({ op: 'prune' as const, nowMs })),
  },
);

function answer(list: DenyList, step: Step): unknown {
  switch (step.op) {
    case 'apply':
      return list.apply(step.event);
    case 'check':
      return list.check(step.claims);
    case 'prune':
      return list.pruneExpired(step.nowMs);
  }
}

function sorted(versions: Iterable<RuleVersion>): RuleVersion[] {
  const id = (v: RuleVersion): string => JSON.stringify([v.claim, v.value, v.iss]);
  return [...versions].sort((a, b) => id(a).localeCompare(id(b)));
}

/** Everything a caller can observe of a list without changing it. */
function expectSameList(loaded: DenyList, original: DenyList): void {
  expect(loaded.size).toBe(original.size);
  expect(loaded.lastSeq).toBe(original.lastSeq);
  expect(sorted(loaded.versions())).toEqual(sorted(original.versions()));
  for (const claim of CLAIMS) {
    for (const value of VALUES) {
      for (const iss of ISSUERS) {
        expect(loaded.get(claim, value, iss)).toEqual(original.get(claim, value, iss));
      }
    }
  }
}

function roundTrip(list: DenyList, meta: object = {}): DenyList {
  return DenyList.fromSnapshot(list.toSnapshot(meta)).list;
}

/** A new SHA-256 trailer for a snapshot whose body a test changed on purpose. */
function resigned(snapshot: Buffer): Buffer {
  const body = snapshot.subarray(0, snapshot.length - 32);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function loadError(snapshot: Uint8Array): DenyListSnapshotError {
  try {
    DenyList.fromSnapshot(snapshot);
  } catch (error) {
    if (error instanceof DenyListSnapshotError) {
      return error;
    }
    throw error;
  }
  throw new Error('the snapshot loaded');
}

function expectRefused(snapshot: Uint8Array, code: DenyListSnapshotErrorCode, message: RegExp) {
  const error = loadError(snapshot);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

/** A list of a few rules of different shapes, with a removal marker and an auth_time cutoff. */
function smallList(): DenyList {
  const list = new DenyList();
  list.apply(eventOf({ seq: 3, claim: 'sub', value: 'alice', iss: null, revokedBefore: 5000 }));
  list.apply(
    eventOf({
      seq: 4,
      claim: 'sub',
      value: 'auth0|64f1c2a9b3e4d5f6a7b8c9d0',
      iss: 'https://idp.example',
      revokedBefore: 9000,
      cutoff: 'auth_time',
      expiresAt: 50_000,
    }),
  );
  list.apply(eventOf({ seq: 5, claim: 'jti', value: 'x'.repeat(300), iss: null, removed: true }));
  list.apply(eventOf({ seq: 6, claim: 'device_id', value: 'd-1', iss: '', revocationId: 'r-1' }));
  return list;
}

describe(`${DenyList.name} snapshots`, () => {
  it('load as a list with the same answers to every check, get and versions, then to every apply and prune', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 80 }),
        fc.array(stepArb, { maxLength: 60 }),
        fc.array(tokenArb, { maxLength: 20 }),
        (before, after, tokens) => {
          const original = new DenyList();
          before.forEach((step) => answer(original, step));
          const snapshot = original.toSnapshot({ topic: 't' });
          const loaded = DenyList.fromSnapshot(snapshot).list;

          expectSameList(loaded, original);
          // Records are written in order, so versions come in the same order too.
          expect([...loaded.versions()]).toEqual([...original.versions()]);
          for (const claims of tokens) {
            expect(loaded.check(claims)).toEqual(original.check(claims));
          }
          // The same versions in the same order encode to the same bytes.
          expect(loaded.toSnapshot({ topic: 't' }).equals(snapshot)).toBe(true);

          for (const step of after) {
            expect(answer(loaded, step)).toEqual(answer(original, step));
          }
          expectSameList(loaded, original);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keep removal markers, auth_time cutoffs, custom claims, null and empty issuers', () => {
    const original = smallList();
    const loaded = roundTrip(original);
    expect(loaded.get('jti', 'x'.repeat(300), null)).toMatchObject({ removed: true, seq: 5 });
    expect(loaded.get('sub', 'auth0|64f1c2a9b3e4d5f6a7b8c9d0', 'https://idp.example')).toEqual({
      claim: 'sub',
      value: 'auth0|64f1c2a9b3e4d5f6a7b8c9d0',
      iss: 'https://idp.example',
      revokedBefore: 9000,
      cutoff: 'auth_time',
      expiresAt: 50_000,
      key: ruleKey({
        claim: 'sub',
        value: 'auth0|64f1c2a9b3e4d5f6a7b8c9d0',
        iss: 'https://idp.example',
      }),
      seq: 4,
      revocationId: REVOCATION_IDS[0],
      removed: false,
    });
    expect(loaded.get('device_id', 'd-1', '')).toMatchObject({ revocationId: 'r-1', iss: '' });
    // auth_time before the cutoff revokes a token issued after it; the same token without is spared.
    const token = { sub: 'auth0|64f1c2a9b3e4d5f6a7b8c9d0', iss: 'https://idp.example', iat: 20 };
    expect(loaded.check({ ...token, auth_time: 1 }).revoked).toBe(true);
    expect(loaded.check(token).revoked).toBe(false);
    expect(loaded.check({ device_id: 'd-1', iss: '' }).revoked).toBe(true);
    expect(loaded.check({ device_id: 'd-1', iss: 'elsewhere' }).revoked).toBe(false);
    expect(loaded.size).toBe(3);
    expectSameList(loaded, original);
  });

  it('apply newer events after loading and ignore older ones (last writer wins by seq)', () => {
    const loaded = roundTrip(smallList());
    const older = eventOf({ seq: 2, claim: 'sub', value: 'alice', iss: null, removed: true });
    expect(loaded.apply(older)).toBeUndefined();
    expect(loaded.check({ sub: 'alice', iat: 1 }).revoked).toBe(true);
    const same = eventOf({ seq: 5, claim: 'jti', value: 'x'.repeat(300), iss: null });
    expect(loaded.apply(same)).toBeUndefined();
    const newer = eventOf({ seq: 9, claim: 'sub', value: 'alice', iss: null, removed: true });
    expect(loaded.apply(newer)).toMatchObject({ removed: true, seq: 9 });
    expect(loaded.check({ sub: 'alice', iat: 1 }).revoked).toBe(false);
    expect(loaded.lastSeq).toBe(9);
    const fresh = eventOf({ seq: 10, claim: 'kid', value: 'key-1', iss: null });
    loaded.apply(fresh);
    expect(loaded.check({ kid: 'key-1' }).revoked).toBe(true);
    expect(loaded.size).toBe(3);
  });

  it('prune after loading exactly what the original prunes, from pages of records and slabs', () => {
    const original = new DenyList();
    let seq = 0;
    for (let i = 0; i < 12_000; i += 1) {
      seq += 1;
      const value =
        i % 3 === 0 ? `auth0|${(i * 7919).toString(16).padStart(24, '0')}` : `user-${i}`;
      original.apply(
        eventOf({
          seq,
          claim: i % 5 === 0 ? 'sid' : 'sub',
          value,
          iss: i % 2 === 0 ? null : ISSUERS[1 + (i % 3)]!,
          revokedBefore: 1000,
          expiresAt: i % 10 === 0 ? null : (i * 37) % 100_000,
        }),
      );
    }
    // Holes: freed records and slab slots, renumbered away by the snapshot.
    expect(original.pruneExpired(30_000)).toBeGreaterThan(2000);
    const loaded = roundTrip(original);
    expectSameList(loaded, original);
    for (const now of [60_000, 100_000]) {
      expect(loaded.pruneExpired(now)).toBe(original.pruneExpired(now));
      expect(loaded.size).toBe(original.size);
    }
    for (let i = 0; i < 3000; i += 1) {
      seq += 1;
      const event = eventOf({ seq, claim: 'sub', value: `new-${i}`, iss: null, revokedBefore: 5 });
      expect(loaded.apply(event)).toEqual(original.apply(event));
    }
    expect(sorted(loaded.versions())).toEqual(sorted(original.versions()));
    for (let i = 0; i < 12_000; i += 7) {
      for (const iss of ISSUERS.slice(1, 4)) {
        const claims = { sub: `user-${i}`, sid: `user-${i}`, iss: iss!, iat: 0 };
        expect(loaded.check(claims)).toEqual(original.check(claims));
      }
    }
  });

  it('round-trip an empty list, which then works as a new one', () => {
    const snapshot = new DenyList().toSnapshot({});
    const { list, lastSeq, rules, meta, formatVersion } = DenyList.fromSnapshot(snapshot);
    expect({ lastSeq, rules, meta, formatVersion, size: list.size }).toEqual({
      lastSeq: 0,
      rules: 0,
      meta: {},
      formatVersion: '1.0',
      size: 0,
    });
    expect([...list.versions()]).toEqual([]);
    expect(list.check({ sub: 'alice' })).toEqual({ revoked: false });
    list.apply(eventOf({ seq: 1, claim: 'sub', value: 'alice', iss: null }));
    expect(list.check({ sub: 'alice' }).revoked).toBe(true);
  });

  it('carry the metadata, as JSON or as bytes, and the header figures', () => {
    const list = smallList();
    const meta = { topic: 'revocation.invalidations.v1', offsets: { '0': '42' }, createdAt: 1 };
    const loaded = DenyList.fromSnapshot(list.toSnapshot(meta));
    expect(loaded).toMatchObject({ meta, lastSeq: 6, rules: 4 });
    const bytes = Uint8Array.of(0, 255, 7);
    expect(DenyList.fromSnapshot(list.toSnapshot(bytes)).meta).toEqual(Buffer.from(bytes));
  });

  it('keeps values too long to pack (kept as strings) and lone surrogates in keys', () => {
    const long = 'z'.repeat((1 << 22) + 3);
    const list = new DenyList();
    list.apply(eventOf({ seq: 1, claim: 'token_hash', value: long, iss: 'iss-\udc00' }));
    list.apply(eventOf({ seq: 2, claim: 'sub', value: '\ud800lone', iss: null, oddKey: true }));
    const loaded = roundTrip(list);
    expect(loaded.check({ token_hash: long, iss: 'iss-\udc00' }).revoked).toBe(true);
    expect(loaded.get('sub', '\ud800lone', null)?.key).toBe('legacy/\ud800lone');
    expect(sorted(loaded.versions())).toEqual(sorted(list.versions()));
  });

  it('stream as chunks that concatenate to the snapshot, and stop when the list changes', () => {
    const list = smallList();
    const chunks = [...list.snapshotChunks({ a: 1 })];
    expect(chunks.length).toBeGreaterThan(3);
    expect(Buffer.concat(chunks).equals(list.toSnapshot({ a: 1 }))).toBe(true);

    const stream = list.snapshotChunks({ a: 1 });
    expect(stream.next().done).toBe(false);
    list.apply(eventOf({ seq: 7, claim: 'sub', value: 'bob', iss: null }));
    let error: unknown;
    try {
      stream.next();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DenyListSnapshotError);
    expect(error).toMatchObject({ code: 'snapshot_list_changed', retriable: true });
  });

  describe('refuse damaged input', () => {
    const snapshot = smallList().toSnapshot({ topic: 't' });

    it('names a changed byte anywhere after the header as a checksum mismatch', () => {
      for (const at of [64, 80, Math.floor(snapshot.length / 2), snapshot.length - 40]) {
        const damaged = Buffer.from(snapshot);
        damaged[at] = damaged[at]! ^ 0x10;
        expectRefused(damaged, 'snapshot_corrupt', /SHA-256 .* does not match/);
      }
      const trailer = Buffer.from(snapshot);
      trailer[trailer.length - 1] = trailer[trailer.length - 1]! ^ 1;
      expectRefused(trailer, 'snapshot_corrupt', /does not match its trailer/);
    });

    it('names every cut-short input as truncated', () => {
      for (let length = 0; length < snapshot.length; length += 1) {
        expect(loadError(snapshot.subarray(0, length)).code).toBe('snapshot_truncated');
      }
      expectRefused(snapshot.subarray(0, 100), 'snapshot_truncated', /100 of the \d+ bytes/);
    });

    it('refuses another format, another major version, unknown flags and trailing bytes', () => {
      expectRefused(Buffer.from('{"v":1}\n'), 'snapshot_invalid', /not a deny-list snapshot/);
      const magic = Buffer.from(snapshot);
      magic[0] = 'X'.charCodeAt(0);
      expectRefused(magic, 'snapshot_invalid', /magic bytes "RSCDL"/);
      const major = Buffer.from(snapshot);
      major[5] = 2;
      expectRefused(major, 'snapshot_invalid', /format version 2\.0; this library reads 1\.x/);
      const flags = Buffer.from(snapshot);
      flags[7] = 0x81;
      expectRefused(flags, 'snapshot_invalid', /unknown flags 0x81/);
      expectRefused(
        Buffer.concat([snapshot, Buffer.of(0)]),
        'snapshot_invalid',
        /1 bytes after the end/,
      );
    });

    it('refuses a checksummed body that contradicts itself', () => {
      const meta = Buffer.from(JSON.stringify({ topic: 't' }));
      const recordsAt = (claim: string): number => snapshot.indexOf(Buffer.from(claim, 'utf16le'));

      const lastSeq = Buffer.from(snapshot);
      lastSeq.writeDoubleLE(5, 24);
      expectRefused(resigned(lastSeq), 'snapshot_invalid', /seq 6, past the snapshot's lastSeq 5/);

      const versions = Buffer.from(snapshot);
      versions.writeUInt32LE(5, 32);
      expectRefused(resigned(versions), 'snapshot_invalid', /counts 5 versions, .* hold 4/);

      // The device_id record's issuer id (bytes 4..7 of its record) set past the issuer list.
      const issuer = Buffer.from(snapshot);
      const record = recordsAt('device_id') + 2 * 'device_id'.length + 4;
      issuer.writeInt32LE(9, record + 4);
      expectRefused(resigned(issuer), 'snapshot_invalid', /device_id: record 0 names issuer id 9/);

      const json = Buffer.from(snapshot);
      json[64 + meta.length - 1] = 'x'.charCodeAt(0);
      expectRefused(resigned(json), 'snapshot_invalid', /metadata is flagged as JSON but is not/);
    });

    it('reads a longer header of a later minor version', () => {
      const longer = Buffer.concat([
        snapshot.subarray(0, 64),
        Buffer.alloc(16, 0xee),
        snapshot.subarray(64, snapshot.length - 32),
        Buffer.alloc(32),
      ]);
      longer[6] = 3;
      longer.writeUInt32LE(80, 8);
      longer.writeBigUInt64LE(BigInt(longer.length), 16);
      const loaded = DenyList.fromSnapshot(resigned(longer));
      expect(loaded.formatVersion).toBe('1.3');
      expectSameList(loaded.list, smallList());
    });
  });
});
