import { IntList } from './int-list';

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
 */
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;
export const RECORD_BYTES = 64;
const I32_PER_RECORD = RECORD_BYTES / 4;
const F64_PER_RECORD = RECORD_BYTES / 8;

/** 32-bit fields of a record, for {@link RecordPages.int}. */
export const I_SHAPE = 0;
export const I_ISSUER = 1;
export const I_SLOT = 2;
/** First revocationId word (of four), for {@link RecordPages.ints}. */
export const I_ID = 12;
/** Byte offset of the packed value in a record, for {@link RecordPages.bytes}. */
export const U8_VALUE = 8;
export const INLINE_BYTES = 16;
/** 64-bit fields of a record, for {@link RecordPages.double}. */
export const F_REVOKED_BEFORE = 3;
export const F_SEQ = 4;
export const F_EXPIRES_AT = 5;

/** Shape word of a free record. */
export const FREE = -1;

/**
 * The records of one claim table: fixed-size, never moving (a record number stays valid until
 * it is released), allocated from a free list first.
 */
export class RecordPages {
  private readonly u8: Uint8Array[] = [];
  private readonly i32: Int32Array[] = [];
  private readonly f64: Float64Array[] = [];
  private capacity = 0;
  /** One past the highest record ever allocated: records below it are in use or free. */
  end = 0;
  private readonly free = new IntList(4);

  constructor() {
    this.addPage(4);
  }

  int(r: number, field: number): number {
    return this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + field]!;
  }

  setInt(r: number, field: number, value: number): void {
    this.i32[r >>> PAGE_BITS]![(r & PAGE_MASK) * I32_PER_RECORD + field] = value;
  }

  double(r: number, field: number): number {
    return this.f64[r >>> PAGE_BITS]![(r & PAGE_MASK) * F64_PER_RECORD + field]!;
  }

  setDouble(r: number, field: number, value: number): void {
    this.f64[r >>> PAGE_BITS]![(r & PAGE_MASK) * F64_PER_RECORD + field] = value;
  }

  /** Record `r`'s page as 32-bit words, and the index of its word `field` in it. */
  ints(r: number): Int32Array {
    return this.i32[r >>> PAGE_BITS]!;
  }

  intIndex(r: number, field: number): number {
    return (r & PAGE_MASK) * I32_PER_RECORD + field;
  }

  /** Record `r`'s page as bytes, and the index of its byte `offset` in it. */
  bytes(r: number): Uint8Array {
    return this.u8[r >>> PAGE_BITS]!;
  }

  byteIndex(r: number, offset: number): number {
    return (r & PAGE_MASK) * RECORD_BYTES + offset;
  }

  isFree(r: number): boolean {
    return this.int(r, I_SHAPE) === FREE;
  }

  alloc(): number {
    if (this.free.length > 0) {
      return this.free.pop();
    }
    const r = this.end;
    this.end += 1;
    if (r === this.capacity) {
      this.addPage(Math.min(PAGE, this.capacity * 2));
    }
    return r;
  }

  release(r: number): void {
    this.setInt(r, I_SHAPE, FREE);
    this.free.push(r);
  }

  /**
   * Records 0..count-1 copied from `source` (count * RECORD_BYTES bytes, as the snapshot
   * format stores them), none free. The pages are laid out as allocating them one by one would
   * have: a first page of up to PAGE records, then whole pages.
   */
  static restore(source: Uint8Array, count: number): RecordPages {
    const pages = new RecordPages();
    if (count === 0) {
      return pages;
    }
    pages.u8.length = 0;
    pages.i32.length = 0;
    pages.f64.length = 0;
    pages.capacity = 0;
    const pageRecords = count <= PAGE ? Math.max(4, count) : PAGE;
    for (let first = 0; first < count; first += pageRecords) {
      const buffer = new ArrayBuffer(pageRecords * RECORD_BYTES);
      const bytes = new Uint8Array(buffer);
      bytes.set(
        source.subarray(first * RECORD_BYTES, Math.min(count, first + pageRecords) * RECORD_BYTES),
      );
      pages.u8.push(bytes);
      pages.i32.push(new Int32Array(buffer));
      pages.f64.push(new Float64Array(buffer));
      pages.capacity += pageRecords;
    }
    pages.end = count;
    return pages;
  }

  /**
   * Room for more records: the first page doubles until it holds PAGE records (so a claim with
   * few rules stays small), then whole pages are added.
   */
  private addPage(records: number): void {
    if (this.capacity < PAGE) {
      const buffer = new ArrayBuffer(records * RECORD_BYTES);
      const bytes = new Uint8Array(buffer);
      if (this.u8.length > 0) {
        bytes.set(this.u8[0]!);
      }
      this.u8[0] = bytes;
      this.i32[0] = new Int32Array(buffer);
      this.f64[0] = new Float64Array(buffer);
      this.capacity = records;
      return;
    }
    const buffer = new ArrayBuffer(PAGE * RECORD_BYTES);
    this.u8.push(new Uint8Array(buffer));
    this.i32.push(new Int32Array(buffer));
    this.f64.push(new Float64Array(buffer));
    this.capacity += PAGE;
  }
}
