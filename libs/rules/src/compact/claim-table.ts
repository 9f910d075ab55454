import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import type { RuleVersion } from '../rule';
import { isLowerUuid, packUuid, unpackUuid } from './hex';
import { IntList } from './int-list';
import type { Issuers } from './issuers';
import {
  ENC_STRING,
  pack,
  packedBytes,
  packedEquals,
  type PackedStrings,
  shapeOf,
  unpack,
} from './packed-strings';
import { hashString } from './string-hash';

/*
 * Record layout. A record is one stored version (live rule or removal marker): 64 bytes, one
 * cache line's worth, in pages of PAGE records seen through three typed-array views. Record r
 * is in page r >>> PAGE_BITS at record (r & PAGE_MASK). What `check` reads on a match (shape,
 * issuer, value, revokedBefore) is in the first 32 bytes.
 *
 *   bytes  0..3   shape: value shape << FLAG_BITS | flags (FREE when unused)
 *   bytes  4..7   issuer id (0: any issuer)
 *   bytes  8..23  the value packed, when it packs into 16 bytes; else its slab slot (bytes 8..11)
 *   bytes 24..31  revokedBefore (ms)
 *   bytes 32..39  seq
 *   bytes 40..47  expiresAt (ms)
 *   bytes 48..63  revocationId, a UUID as four 32-bit words
 *
 * The rule key and the revocationId string are rebuilt when a RuleVersion is asked for
 * (apply's return, get, versions, a revoked decision), never on check's not-revoked path.
 */
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;
const RECORD_BYTES = 64;
const I32_PER_RECORD = RECORD_BYTES / 4;
const F64_PER_RECORD = RECORD_BYTES / 8;

const I_SHAPE = 0;
const I_ISSUER = 1;
const I_SLOT = 2;
const U8_VALUE = 8;
const INLINE_BYTES = 16;
const F_REVOKED_BEFORE = 3;
const F_SEQ = 4;
const F_EXPIRES_AT = 5;
const I_ID = 12;

/** Flags in the low bits of a record's shape word. */
const REMOVED = 1;
const REVOKED_BEFORE_NULL = 2;
const EXPIRES_AT_NULL = 4;
/** The revocationId is not a lower-case UUID and is kept as a string in `rawIds`. */
const RAW_ID = 8;
/** The event's key differs from `ruleKey(rule)` and is kept as a string in `rawKeys`. */
const RAW_KEY = 16;
const FLAG_BITS = 5;
/** Shape word of a free record. */
const FREE = -1;

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
function isInline(shape: number): boolean {
  return (shape & 7) !== ENC_STRING && packedBytes(shape) <= INLINE_BYTES;
}

/** Width of an expiry bucket: rules are pruned at most this late. */
const EXPIRY_BUCKET_MS = 10_000;

/** Hash table load: grow past 3/4, rebuild at 1/2, shrink below 1/5. */
const MAX_LOAD = 0.75;
const REBUILD_LOAD = 0.5;
const MIN_LOAD = 0.2;
const MIN_SLOTS = 16;

const TWO_TO_MINUS_32 = 1 / 4_294_967_296;

/** Maps a 32-bit hash onto [0, capacity) without a power-of-two capacity (Lemire's fastrange). */
function home(hash: number, capacity: number): number {
  return Math.floor((hash >>> 0) * capacity * TWO_TO_MINUS_32);
}

/**
 * A one-byte tag per slot, 1..255, from the low bits of the hash (the slot position comes from
 * the high bits): 0 marks an empty slot.
 */
function tagOf(hash: number): number {
  return 1 + ((hash & 0xff) % 255);
}

/**
 * Every stored version of one claim (`sub`, `jti`, ...): an open-addressing hash table keyed by
 * value (linear probing, backward-shift deletion), whose entries point at records. Versions of
 * the same value for different issuers are separate entries with the same hash.
 */
export class ClaimTable {
  /** Stored versions, live and removal markers. */
  count = 0;
  /** Stored versions that revoke something (removal markers excluded). */
  live = 0;

  /** Pairs (hash, record + 1); record + 1 === 0 marks an empty slot. */
  private slots = new Int32Array(2 * MIN_SLOTS);
  /**
   * One tag per slot (0: empty), an eighth of the size of `slots`: a probe for a value that is
   * not in the table (most lookups) reads only these bytes, which stay in cache, and visits
   * `slots` only for the 1 in 255 slots whose tag matches by chance.
   */
  private tags = new Uint8Array(MIN_SLOTS);
  private capacity = MIN_SLOTS;

  /** Record pages, three views of the same bytes. */
  private readonly u8: Uint8Array[] = [];
  private readonly i32: Int32Array[] = [];
  private readonly f64: Float64Array[] = [];
  private recordCapacity = 0;
  private nextRecord = 0;
  private readonly freeRecords = new IntList(4);

  /** Records by expiry bucket, so pruning visits only what is due. Entries may be stale. */
  private readonly expiries = new Map<number, IntList>();
  private readonly rawIds = new Map<number, string>();
  private readonly rawKeys = new Map<number, string>();

  constructor(
    readonly claim: string,
    /** How `check` reads the claim from a token (see deny-list.ts). */
    readonly kind: number,
    private readonly strings: PackedStrings,
    private readonly issuers: Issuers,
    private readonly seed: number,
  ) {
    this.addPage(4);
  }

  /** The record of exactly this (value, issuer id), or -1. */
  find(value: string, hash: number, issuer: number): number {
    const slots = this.slots;
    const tags = this.tags;
    const capacity = this.capacity;
    const tag = tagOf(hash);
    for (let i = home(hash, capacity); ; i = i + 1 === capacity ? 0 : i + 1) {
      const t = tags[i]!;
      if (t === 0) {
        return -1;
      }
      if (t === tag && slots[2 * i] === hash) {
        const r = slots[2 * i + 1]! - 1;
        if (
          this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + I_ISSUER] === issuer &&
          this.holds(r, value)
        ) {
          return r;
        }
      }
    }
  }

  /**
   * The record that revokes a token whose claim is `value`, or -1: the issuer-independent
   * version first, then the one restricted to the token's `iss`. Allocates nothing.
   */
  findRevoking(value: string, hash: number, tokenIss: unknown, iat: unknown): number {
    const slots = this.slots;
    const tags = this.tags;
    const capacity = this.capacity;
    const tag = tagOf(hash);
    let any = -1;
    let scoped = -1;
    for (let i = home(hash, capacity); ; i = i + 1 === capacity ? 0 : i + 1) {
      const t = tags[i]!;
      if (t === 0) {
        break;
      }
      if (t !== tag || slots[2 * i] !== hash) {
        continue;
      }
      const r = slots[2 * i + 1]! - 1;
      if (!this.holds(r, value)) {
        continue;
      }
      const issuer = this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + I_ISSUER]!;
      if (issuer === 0) {
        any = r;
      } else if (typeof tokenIss === 'string' && this.issuers.nameOf(issuer) === tokenIss) {
        scoped = r;
      }
    }
    if (any >= 0 && this.revokes(any, iat)) {
      return any;
    }
    if (scoped >= 0 && this.revokes(scoped, iat)) {
      return scoped;
    }
    return -1;
  }

  /** Is record `r`'s value `value`? */
  private holds(r: number, value: string): boolean {
    const page = r >>> PAGE_BITS;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const shape = this.i32[page]![ia + I_SHAPE]! >>> FLAG_BITS;
    return isInline(shape)
      ? packedEquals(this.u8[page]!, (r & PAGE_MASK) * RECORD_BYTES + U8_VALUE, shape, value)
      : this.strings.equals(shape, this.i32[page]![ia + I_SLOT]!, value);
  }

  /** `revokes()` of rule.ts on a stored record, removal markers excluded. */
  private revokes(r: number, iatSeconds: unknown): boolean {
    const shape = this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + I_SHAPE]!;
    if ((shape & REMOVED) !== 0) {
      return false;
    }
    if ((shape & REVOKED_BEFORE_NULL) !== 0) {
      return true;
    }
    if (typeof iatSeconds !== 'number' || !Number.isFinite(iatSeconds)) {
      return true;
    }
    const revokedBefore =
      this.f64[r >>> PAGE_BITS]![(r & PAGE_MASK) * F64_PER_RECORD + F_REVOKED_BEFORE]!;
    return iatSeconds * 1000 < revokedBefore;
  }

  seqOf(r: number): number {
    return this.f64[r >>> PAGE_BITS]![(r & PAGE_MASK) * F64_PER_RECORD + F_SEQ]!;
  }

  /**
   * A new record for (value, iss), entered in the hash table. It counts as a removal marker
   * until {@link ClaimTable.write} gives it a version.
   */
  insert(value: string, hash: number, iss: string | null): number {
    if (this.count + 1 > this.capacity * MAX_LOAD) {
      this.rehash(Math.ceil((this.count + 1) / REBUILD_LOAD));
    }
    const r = this.allocRecord();
    const page = r >>> PAGE_BITS;
    const ints = this.i32[page]!;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const shape = shapeOf(value);
    if (isInline(shape)) {
      pack(value, shape, this.u8[page]!, (r & PAGE_MASK) * RECORD_BYTES + U8_VALUE);
    } else {
      ints[ia + I_SLOT] = this.strings.store(value, shape);
    }
    ints[ia + I_ISSUER] = this.issuers.acquire(iss);
    ints[ia + I_SHAPE] = (shape << FLAG_BITS) | REMOVED;
    this.place(hash, r);
    this.count += 1;
    return r;
  }

  /** Stores `event` as the version of record `r` (which holds the event's rule identity). */
  write(r: number, event: InvalidationEventV1): void {
    const doubles = this.f64[r >>> PAGE_BITS]!;
    const ints = this.i32[r >>> PAGE_BITS]!;
    const fa = (r & PAGE_MASK) * F64_PER_RECORD;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const before = ints[ia + I_SHAPE]!;

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
    }
    if (expiresAt === null) {
      flags |= EXPIRES_AT_NULL;
    } else {
      const bucket = Math.floor(expiresAt / EXPIRY_BUCKET_MS);
      let due = this.expiries.get(bucket);
      if (due === undefined) {
        due = new IntList(4);
        this.expiries.set(bucket, due);
      }
      due.push(r);
    }
    doubles[fa + F_SEQ] = event.seq;
    doubles[fa + F_REVOKED_BEFORE] = revokedBefore ?? 0;
    doubles[fa + F_EXPIRES_AT] = expiresAt ?? 0;

    if (isLowerUuid(event.revocationId)) {
      packUuid(event.revocationId, ints, ia + I_ID);
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

    ints[ia + I_SHAPE] = ((before >>> FLAG_BITS) << FLAG_BITS) | flags;
    this.live += ((flags & REMOVED) === 0 ? 1 : 0) - ((before & REMOVED) === 0 ? 1 : 0);
  }

  /** Record `r`'s value, as a new string. */
  private valueOf(r: number): string {
    const page = r >>> PAGE_BITS;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const shape = this.i32[page]![ia + I_SHAPE]! >>> FLAG_BITS;
    return isInline(shape)
      ? unpack(this.u8[page]!, (r & PAGE_MASK) * RECORD_BYTES + U8_VALUE, shape)
      : this.strings.read(shape, this.i32[page]![ia + I_SLOT]!);
  }

  /** Record `r` as the RuleVersion of the public API (a new object). */
  materialize(r: number): RuleVersion {
    const doubles = this.f64[r >>> PAGE_BITS]!;
    const ints = this.i32[r >>> PAGE_BITS]!;
    const fa = (r & PAGE_MASK) * F64_PER_RECORD;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const shape = ints[ia + I_SHAPE]!;
    const claim = this.claim;
    const value = this.valueOf(r);
    const iss = this.issuers.nameOf(ints[ia + I_ISSUER]!);
    return {
      claim,
      value,
      iss,
      revokedBefore: (shape & REVOKED_BEFORE_NULL) !== 0 ? null : doubles[fa + F_REVOKED_BEFORE]!,
      expiresAt: (shape & EXPIRES_AT_NULL) !== 0 ? null : doubles[fa + F_EXPIRES_AT]!,
      key: (shape & RAW_KEY) !== 0 ? this.rawKeys.get(r)! : ruleKey({ claim, value, iss }),
      seq: doubles[fa + F_SEQ]!,
      revocationId: (shape & RAW_ID) !== 0 ? this.rawIds.get(r)! : unpackUuid(ints, ia + I_ID),
      removed: (shape & REMOVED) !== 0,
    };
  }

  /**
   * Drops every version whose `expiresAt` is at or before `nowMs`, visiting only due buckets.
   * Returns how many were dropped.
   */
  prune(nowMs: number): number {
    let dropped = 0;
    const due = Math.floor(nowMs / EXPIRY_BUCKET_MS);
    for (const [bucket, records] of this.expiries) {
      if (bucket > due) {
        continue;
      }
      let kept = 0;
      for (let k = 0; k < records.length; k += 1) {
        const r = records.data[k]!;
        const shape = this.shapeOf(r);
        // Stale entries: the record was freed, or a newer version expires in another bucket.
        if (shape === FREE || (shape & EXPIRES_AT_NULL) !== 0) {
          continue;
        }
        const expiresAt =
          this.f64[r >>> PAGE_BITS]![(r & PAGE_MASK) * F64_PER_RECORD + F_EXPIRES_AT]!;
        if (!Object.is(Math.floor(expiresAt / EXPIRY_BUCKET_MS), bucket)) {
          continue;
        }
        if (expiresAt > nowMs) {
          records.data[kept] = r;
          kept += 1;
          continue;
        }
        this.remove(r);
        dropped += 1;
      }
      records.length = kept;
      if (kept === 0) {
        this.expiries.delete(bucket);
      }
    }
    return dropped;
  }

  /**
   * Every stored version, as new RuleVersion objects. Walks the records, not the hash slots:
   * records never move, while a deletion shifts slot entries backwards, so a walk over the slots
   * interleaved with changes could skip an entry that was there all along.
   */
  *versions(): IterableIterator<RuleVersion> {
    for (let r = 0; r < this.nextRecord; r += 1) {
      if (this.shapeOf(r) !== FREE) {
        yield this.materialize(r);
      }
    }
  }

  private shapeOf(r: number): number {
    return this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + I_SHAPE]!;
  }

  private remove(r: number): void {
    const ints = this.i32[r >>> PAGE_BITS]!;
    const ia = (r & PAGE_MASK) * I32_PER_RECORD;
    const shape = ints[ia + I_SHAPE]!;
    this.unplace(hashString(this.valueOf(r), this.seed), r);
    const valueShape = shape >>> FLAG_BITS;
    if (!isInline(valueShape)) {
      this.strings.release(valueShape, ints[ia + I_SLOT]!);
    }
    this.issuers.release(ints[ia + I_ISSUER]!);
    if ((shape & RAW_ID) !== 0) {
      this.rawIds.delete(r);
    }
    if ((shape & RAW_KEY) !== 0) {
      this.rawKeys.delete(r);
    }
    if ((shape & REMOVED) === 0) {
      this.live -= 1;
    }
    ints[ia + I_SHAPE] = FREE;
    this.freeRecords.push(r);
    this.count -= 1;
    if (this.capacity > MIN_SLOTS && this.count < this.capacity * MIN_LOAD) {
      this.rehash(Math.ceil(this.count / REBUILD_LOAD));
    }
  }

  private place(hash: number, r: number): void {
    const slots = this.slots;
    const capacity = this.capacity;
    let i = home(hash, capacity);
    while (slots[2 * i + 1] !== 0) {
      i = i + 1 === capacity ? 0 : i + 1;
    }
    slots[2 * i] = hash;
    slots[2 * i + 1] = r + 1;
    this.tags[i] = tagOf(hash);
  }

  /** Removes record `r`'s entry, shifting later entries of its run back (no tombstones). */
  private unplace(hash: number, r: number): void {
    const slots = this.slots;
    const tags = this.tags;
    const capacity = this.capacity;
    let hole = home(hash, capacity);
    while (slots[2 * hole + 1] !== r + 1) {
      hole = hole + 1 === capacity ? 0 : hole + 1;
    }
    for (let j = hole + 1 === capacity ? 0 : hole + 1; ; j = j + 1 === capacity ? 0 : j + 1) {
      if (slots[2 * j + 1] === 0) {
        break;
      }
      const k = home(slots[2 * j]!, capacity);
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (!stays) {
        slots[2 * hole] = slots[2 * j]!;
        slots[2 * hole + 1] = slots[2 * j + 1]!;
        tags[hole] = tags[j]!;
        hole = j;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    tags[hole] = 0;
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    this.capacity = Math.max(MIN_SLOTS, capacity);
    this.slots = new Int32Array(2 * this.capacity);
    this.tags = new Uint8Array(this.capacity);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] !== 0) {
        this.place(old[i]!, old[i + 1]! - 1);
      }
    }
  }

  private allocRecord(): number {
    if (this.freeRecords.length > 0) {
      return this.freeRecords.pop();
    }
    const r = this.nextRecord;
    this.nextRecord += 1;
    if (r === this.recordCapacity) {
      this.addPage(Math.min(PAGE, this.recordCapacity * 2));
    }
    return r;
  }

  /**
   * Room for more records: the first page doubles until it holds PAGE records (so a claim with
   * few rules stays small), then whole pages are added.
   */
  private addPage(records: number): void {
    if (this.recordCapacity < PAGE) {
      const buffer = new ArrayBuffer(records * RECORD_BYTES);
      const bytes = new Uint8Array(buffer);
      if (this.u8.length > 0) {
        bytes.set(this.u8[0]!);
      }
      this.u8[0] = bytes;
      this.i32[0] = new Int32Array(buffer);
      this.f64[0] = new Float64Array(buffer);
      this.recordCapacity = records;
      return;
    }
    const buffer = new ArrayBuffer(PAGE * RECORD_BYTES);
    this.u8.push(new Uint8Array(buffer));
    this.i32.push(new Int32Array(buffer));
    this.f64.push(new Float64Array(buffer));
    this.recordCapacity += PAGE;
  }
}
