import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import type { RuleVersion } from '../rule';
import { ExpiryBuckets } from './expiry-buckets';
import { isLowerUuid, packUuid, unpackUuid } from './hex';
import type { Issuers } from './issuers';
import {
  ENC_STRING,
  hashPacked,
  pack,
  packedBytes,
  packedEquals,
  type PackedStrings,
  shapeOf,
  unpack,
} from './packed-strings';
import {
  F_EXPIRES_AT,
  F_REVOKED_BEFORE,
  F_SEQ,
  FREE,
  I_ID,
  I_ISSUER,
  I_SHAPE,
  I_SLOT,
  INLINE_BYTES,
  RecordPages,
  U8_VALUE,
} from './record-pages';
import { SlotIndex } from './slot-index';
import { hashString } from './string-hash';

/*
 * Each stored version is a record (record-pages.ts has the layout). The rule key and the
 * revocationId string are rebuilt when a RuleVersion is asked for (apply's return, get,
 * versions, a revoked decision), never on check's not-revoked path.
 */

/** Flags in the low bits of a record's shape word (exported for the snapshot format). */
export const REMOVED = 1;
export const REVOKED_BEFORE_NULL = 2;
export const EXPIRES_AT_NULL = 4;
/** The revocationId is not a lower-case UUID and is kept as a string in `rawIds`. */
export const RAW_ID = 8;
/** The event's key differs from `ruleKey(rule)` and is kept as a string in `rawKeys`. */
export const RAW_KEY = 16;
/** `revokedBefore` is compared with the token's authentication time (`cutoff: 'auth_time'`). */
export const AUTH_TIME = 32;
export const FLAG_BITS = 6;

/**
 * Is `event.key` what `ruleKey` computes for its rule (as the writer does), so that it need not
 * be stored? `ruleKey` throws on values that are not well-formed UTF-16 (a lone surrogate).
 */
function hasCanonicalKey(event: InvalidationEventV1): boolean {
  try {
    return event.key === ruleKey(event.rule);
  } catch {
    return false;
  }
}

/** Is a value of this shape packed inside its record (rather than in a slab)? */
export function isInline(shape: number): boolean {
  return (shape & 7) !== ENC_STRING && packedBytes(shape) <= INLINE_BYTES;
}

/**
 * Every stored version of one claim (`sub`, `jti`, ...): records (record-pages.ts) found by
 * value hash (slot-index.ts) and pruned by expiry (expiry-buckets.ts). Versions of the same
 * value for different issuers are separate records with the same hash.
 */
export class ClaimTable {
  /** Stored versions, live and removal markers. */
  count = 0;
  /** Stored versions that revoke something (removal markers excluded). */
  live = 0;

  private records = new RecordPages();
  private readonly index = new SlotIndex();
  private readonly expiries = new ExpiryBuckets();
  private rawIds = new Map<number, string>();
  private rawKeys = new Map<number, string>();

  constructor(
    readonly claim: string,
    /** How `check` reads the claim from a token (see deny-list.ts). */
    readonly kind: number,
    private readonly strings: PackedStrings,
    private readonly issuers: Issuers,
    private readonly seed: number,
  ) {}

  /**
   * A table whose versions are `records` (0..end-1, none free, as the snapshot format checked
   * them), with `rawIds`/`rawKeys` by record number. Rebuilds what the format leaves out: the
   * hash slots, from the packed values under this `seed` (no value becomes a string), the
   * expiry buckets and the counts.
   */
  static restore(
    claim: string,
    kind: number,
    strings: PackedStrings,
    issuers: Issuers,
    seed: number,
    records: RecordPages,
    rawIds: Map<number, string>,
    rawKeys: Map<number, string>,
  ): ClaimTable {
    const table = new ClaimTable(claim, kind, strings, issuers, seed);
    table.records = records;
    table.rawIds = rawIds;
    table.rawKeys = rawKeys;
    const count = records.end;
    const hashes = new Int32Array(count);
    let live = 0;
    for (let r = 0; r < count; r += 1) {
      const shape = records.int(r, I_SHAPE);
      const valueShape = shape >>> FLAG_BITS;
      hashes[r] = isInline(valueShape)
        ? hashPacked(records.bytes(r), records.byteIndex(r, U8_VALUE), valueShape, seed)
        : strings.hash(valueShape, records.int(r, I_SLOT), seed);
      if ((shape & EXPIRES_AT_NULL) === 0) {
        table.expiries.add(r, records.double(r, F_EXPIRES_AT));
      }
      if ((shape & REMOVED) === 0) {
        live += 1;
      }
    }
    table.index.addAll(hashes);
    table.count = count;
    table.live = live;
    return table;
  }

  /** What the snapshot format writes: the records and the strings kept beside them. */
  snapshotSource(): {
    records: RecordPages;
    rawIds: ReadonlyMap<number, string>;
    rawKeys: ReadonlyMap<number, string>;
  } {
    return { records: this.records, rawIds: this.rawIds, rawKeys: this.rawKeys };
  }

  /** The record of exactly this (value, issuer id), or -1. */
  find(value: string, hash: number, issuer: number): number {
    const index = this.index;
    for (let r = index.first(hash); r >= 0; r = index.next()) {
      if (this.records.int(r, I_ISSUER) === issuer && this.holds(r, value)) {
        return r;
      }
    }
    return -1;
  }

  /**
   * The record that revokes a token whose claim is `value`, or -1: the issuer-independent
   * version first, then the one restricted to the token's `iss`. Allocates nothing.
   */
  findRevoking(
    value: string,
    hash: number,
    tokenIss: unknown,
    iat: unknown,
    authTime: unknown,
  ): number {
    const index = this.index;
    let any = -1;
    let scoped = -1;
    for (let r = index.first(hash); r >= 0; r = index.next()) {
      if (!this.holds(r, value)) {
        continue;
      }
      const issuer = this.records.int(r, I_ISSUER);
      if (issuer === 0) {
        any = r;
      } else if (typeof tokenIss === 'string' && this.issuers.nameOf(issuer) === tokenIss) {
        scoped = r;
      }
    }
    if (any >= 0 && this.revokes(any, iat, authTime)) {
      return any;
    }
    if (scoped >= 0 && this.revokes(scoped, iat, authTime)) {
      return scoped;
    }
    return -1;
  }

  /** Is record `r`'s value `value`? */
  private holds(r: number, value: string): boolean {
    const records = this.records;
    const shape = records.int(r, I_SHAPE) >>> FLAG_BITS;
    return isInline(shape)
      ? packedEquals(records.bytes(r), records.byteIndex(r, U8_VALUE), shape, value)
      : this.strings.equals(shape, records.int(r, I_SLOT), value);
  }

  /** `revokes()` of rule.ts on a stored record, removal markers excluded. */
  private revokes(r: number, iatSeconds: unknown, authTimeSeconds: unknown): boolean {
    const shape = this.records.int(r, I_SHAPE);
    if ((shape & REMOVED) !== 0) {
      return false;
    }
    if ((shape & REVOKED_BEFORE_NULL) !== 0) {
      return true;
    }
    if (typeof iatSeconds !== 'number' || !Number.isFinite(iatSeconds)) {
      return true;
    }
    const seconds =
      (shape & AUTH_TIME) !== 0 &&
      typeof authTimeSeconds === 'number' &&
      authTimeSeconds < iatSeconds // false for NaN; -Infinity is as old as it gets
        ? authTimeSeconds
        : iatSeconds;
    return seconds * 1000 < this.records.double(r, F_REVOKED_BEFORE);
  }

  seqOf(r: number): number {
    return this.records.double(r, F_SEQ);
  }

  /**
   * A new record for (value, iss), entered in the hash table. It counts as a removal marker
   * until {@link ClaimTable.write} gives it a version.
   */
  insert(value: string, hash: number, iss: string | null): number {
    const records = this.records;
    const r = records.alloc();
    const shape = shapeOf(value);
    if (isInline(shape)) {
      pack(value, shape, records.bytes(r), records.byteIndex(r, U8_VALUE));
    } else {
      records.setInt(r, I_SLOT, this.strings.store(value, shape));
    }
    records.setInt(r, I_ISSUER, this.issuers.acquire(iss));
    records.setInt(r, I_SHAPE, (shape << FLAG_BITS) | REMOVED);
    this.index.add(hash, r);
    this.count += 1;
    return r;
  }

  /** Stores `event` as the version of record `r` (which holds the event's rule identity). */
  write(r: number, event: InvalidationEventV1): void {
    const records = this.records;
    const before = records.int(r, I_SHAPE);

    let flags = 0;
    let revokedBefore: number | null = null;
    let expiresAt: number | null;
    if (event.type === 'rule.set') {
      revokedBefore = event.rule.revokedBefore;
      expiresAt = event.rule.expiresAt;
    } else {
      flags |= REMOVED;
      expiresAt = event.expiresAt;
    }
    if (revokedBefore === null) {
      flags |= REVOKED_BEFORE_NULL;
    } else if (event.type === 'rule.set' && event.rule.cutoff === 'auth_time') {
      flags |= AUTH_TIME;
    }
    if (expiresAt === null) {
      flags |= EXPIRES_AT_NULL;
    } else {
      this.expiries.add(r, expiresAt);
    }
    records.setDouble(r, F_SEQ, event.seq);
    records.setDouble(r, F_REVOKED_BEFORE, revokedBefore ?? 0);
    records.setDouble(r, F_EXPIRES_AT, expiresAt ?? 0);

    if (isLowerUuid(event.revocationId)) {
      packUuid(event.revocationId, records.ints(r), records.intIndex(r, I_ID));
    } else {
      flags |= RAW_ID;
      this.rawIds.set(r, event.revocationId);
    }
    if ((before & RAW_ID) !== 0 && (flags & RAW_ID) === 0) {
      this.rawIds.delete(r);
    }
    if (!hasCanonicalKey(event)) {
      flags |= RAW_KEY;
      this.rawKeys.set(r, event.key);
    } else if ((before & RAW_KEY) !== 0) {
      this.rawKeys.delete(r);
    }

    records.setInt(r, I_SHAPE, ((before >>> FLAG_BITS) << FLAG_BITS) | flags);
    this.live += ((flags & REMOVED) === 0 ? 1 : 0) - ((before & REMOVED) === 0 ? 1 : 0);
  }

  /** Record `r`'s value, as a new string. */
  private valueOf(r: number): string {
    const records = this.records;
    const shape = records.int(r, I_SHAPE) >>> FLAG_BITS;
    return isInline(shape)
      ? unpack(records.bytes(r), records.byteIndex(r, U8_VALUE), shape)
      : this.strings.read(shape, records.int(r, I_SLOT));
  }

  /** Record `r` as the RuleVersion of the public API (a new object). */
  materialize(r: number): RuleVersion {
    const records = this.records;
    const shape = records.int(r, I_SHAPE);
    const claim = this.claim;
    const value = this.valueOf(r);
    const iss = this.issuers.nameOf(records.int(r, I_ISSUER));
    return {
      claim,
      value,
      iss,
      revokedBefore:
        (shape & REVOKED_BEFORE_NULL) !== 0 ? null : records.double(r, F_REVOKED_BEFORE),
      ...((shape & AUTH_TIME) !== 0 ? { cutoff: 'auth_time' as const } : {}),
      expiresAt: (shape & EXPIRES_AT_NULL) !== 0 ? null : records.double(r, F_EXPIRES_AT),
      key: (shape & RAW_KEY) !== 0 ? this.rawKeys.get(r)! : ruleKey({ claim, value, iss }),
      seq: records.double(r, F_SEQ),
      revocationId:
        (shape & RAW_ID) !== 0
          ? this.rawIds.get(r)!
          : unpackUuid(records.ints(r), records.intIndex(r, I_ID)),
      removed: (shape & REMOVED) !== 0,
    };
  }

  /**
   * Drops every version whose `expiresAt` is at or before `nowMs`, visiting only due buckets.
   * Returns how many were dropped.
   */
  prune(nowMs: number): number {
    return this.expiries.drain(
      nowMs,
      (r) => {
        const shape = this.records.int(r, I_SHAPE);
        return shape === FREE || (shape & EXPIRES_AT_NULL) !== 0
          ? null
          : this.records.double(r, F_EXPIRES_AT);
      },
      (r) => this.remove(r),
    );
  }

  /**
   * Every stored version, as new RuleVersion objects. Walks the records, not the hash slots:
   * records never move, while a deletion shifts slot entries backwards, so a walk over the slots
   * interleaved with changes could skip an entry that was there all along.
   */
  *versions(): IterableIterator<RuleVersion> {
    for (let r = 0; r < this.records.end; r += 1) {
      if (!this.records.isFree(r)) {
        yield this.materialize(r);
      }
    }
  }

  private remove(r: number): void {
    const records = this.records;
    const shape = records.int(r, I_SHAPE);
    this.index.delete(hashString(this.valueOf(r), this.seed), r);
    const valueShape = shape >>> FLAG_BITS;
    if (!isInline(valueShape)) {
      this.strings.release(valueShape, records.int(r, I_SLOT));
    }
    this.issuers.release(records.int(r, I_ISSUER));
    if ((shape & RAW_ID) !== 0) {
      this.rawIds.delete(r);
    }
    if ((shape & RAW_KEY) !== 0) {
      this.rawKeys.delete(r);
    }
    if ((shape & REMOVED) === 0) {
      this.live -= 1;
    }
    records.release(r);
    this.count -= 1;
  }
}
