import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { type ClaimTable, FLAG_BITS, isInline, RAW_ID, RAW_KEY } from '../compact/claim-table';
import type { Issuers } from '../compact/issuers';
import { ENC_STRING, packedBytes, type PackedStrings, unitsOf } from '../compact/packed-strings';
import {
  FREE,
  I_ID,
  I_SHAPE,
  I_SLOT,
  INLINE_BYTES,
  RECORD_BYTES,
  type RecordPages,
  U8_VALUE,
} from '../compact/record-pages';
import { SectionWriter, stringBytes } from './snapshot-bytes';
import { DenyListSnapshotError } from './snapshot-error';
import { FLAG_META_JSON, HEADER_BYTES, TRAILER_BYTES, writeHeader } from './snapshot-layout';

/** What a snapshot is written from: a DenyList's parts. */
export interface SnapshotSource {
  /** In the order `check` visits them. */
  readonly tables: readonly ClaimTable[];
  readonly strings: PackedStrings;
  readonly issuers: Issuers;
  readonly lastSeq: number;
}

/** Metadata stored in a snapshot: opaque bytes, or a value stored as UTF-8 JSON. */
export type DenyListSnapshotMeta = Uint8Array | object;

/** Records per chunk of a claim table (256 KiB); slabs are cut into chunks of SLAB_CHUNK. */
const RECORDS_PER_CHUNK = 4096;
const SLAB_CHUNK = 1 << 20;
const WORDS_PER_RECORD = RECORD_BYTES / 4;

/** Calls `visit` with the value shape of every used record whose value is not in the record. */
function forEachOutOfLine(records: RecordPages, visit: (r: number, valueShape: number) => void) {
  for (let r = 0; r < records.end; r += 1) {
    const shape = records.int(r, I_SHAPE);
    if (shape !== FREE && !isInline(shape >>> FLAG_BITS)) {
      visit(r, shape >>> FLAG_BITS);
    }
  }
}

/** Renumbers slab slots and long values densely, in table order then record order. */
class SlotRenumbering {
  private readonly next: number[] = [];
  private long = 0;

  /** The new slot of the next value of this (non-inline) shape. */
  take(valueShape: number): number {
    if ((valueShape & 7) === ENC_STRING) {
      this.long += 1;
      return this.long - 1;
    }
    const units = unitsOf(valueShape);
    const slot = this.next[units] ?? 0;
    this.next[units] = slot + 1;
    return slot;
  }

  /** Slots taken per slot size in 4-byte units (index), and long values taken. */
  counts(): { slabs: readonly (number | undefined)[]; long: number } {
    return { slabs: this.next, long: this.long };
  }
}

function rawStringsBytes(strings: ReadonlyMap<number, string>): number {
  let bytes = 4;
  for (const value of strings.values()) {
    bytes += 4 + stringBytes(value);
  }
  return bytes;
}

function metaBytesOf(meta: DenyListSnapshotMeta): { bytes: Buffer; flags: number } {
  if (meta instanceof Uint8Array) {
    return { bytes: Buffer.from(meta), flags: 0 };
  }
  const text = JSON.stringify(meta) as string | undefined;
  if (text === undefined) {
    throw new TypeError('snapshot metadata must be bytes or a JSON-serializable value');
  }
  return { bytes: Buffer.from(text, 'utf8'), flags: FLAG_META_JSON };
}

function issuersSection(issuers: Issuers): Buffer {
  const names = issuers.snapshotNames();
  let bytes = 4;
  for (let id = 1; id < names.length; id += 1) {
    bytes += 4 + 2 * (names[id]?.length ?? 0);
  }
  const out = new SectionWriter(bytes).u32(names.length);
  for (let id = 1; id < names.length; id += 1) {
    const name = names[id] ?? null;
    if (name === null) {
      out.i32(-1);
    } else {
      out.string(name);
    }
  }
  return out.done();
}

/**
 * The snapshot of `source` (layout in snapshot-layout.ts) as chunks of at most about 1 MiB, so
 * a caller can write 100 MB without one buffer holding it all. Everything is read from the
 * list when the first chunk is asked for, except the claim tables' records, which are copied
 * chunk by chunk: `changed()` is asked after every chunk, and true stops the iteration with
 * `snapshot_list_changed` (the list must not change until the last chunk is taken).
 */
export function* encodeSnapshot(
  source: SnapshotSource,
  meta: DenyListSnapshotMeta,
  changed: () => boolean,
): Generator<Buffer, void, undefined> {
  if (endianness() !== 'LE') {
    throw new DenyListSnapshotError(
      'snapshot_unsupported_platform',
      'deny-list snapshots are little-endian and written from typed arrays as they are; this host is big-endian',
    );
  }
  const { tables, strings } = source;
  const metadata = metaBytesOf(meta);
  const issuers = issuersSection(source.issuers);

  // Pass 1: how many values go to each slab and how long every section is.
  const counting = new SlotRenumbering();
  let versions = 0;
  let live = 0;
  let tableBytes = 0;
  for (const table of tables) {
    const { records, rawIds, rawKeys } = table.snapshotSource();
    forEachOutOfLine(records, (_r, valueShape) => counting.take(valueShape));
    versions += table.count;
    live += table.live;
    tableBytes +=
      stringBytes(table.claim) +
      4 +
      table.count * RECORD_BYTES +
      rawStringsBytes(rawIds) +
      rawStringsBytes(rawKeys);
  }
  const counts = counting.counts();

  // Pass 2: the slabs' and the long values' contents, renumbered.
  const slabs: { slotBytes: number; bytes: Uint8Array }[] = [];
  const slabOf: (Uint8Array | undefined)[] = [];
  counts.slabs.forEach((slots, units) => {
    if (slots !== undefined && slots > 0) {
      const bytes = new Uint8Array(slots * units * 4);
      slabOf[units] = bytes;
      slabs.push({ slotBytes: units * 4, bytes });
    }
  });
  const long: string[] = [];
  const filling = new SlotRenumbering();
  for (const table of tables) {
    const { records } = table.snapshotSource();
    forEachOutOfLine(records, (r, valueShape) => {
      const slot = filling.take(valueShape);
      const from = records.int(r, I_SLOT);
      if ((valueShape & 7) === ENC_STRING) {
        long.push(strings.read(valueShape, from));
      } else {
        const units = unitsOf(valueShape);
        strings.copyPacked(valueShape, from, slabOf[units]!, slot * units * 4);
      }
    });
  }
  let longBytes = 4;
  for (const value of long) {
    longBytes += stringBytes(value);
  }
  const longValues = new SectionWriter(longBytes).u32(long.length);
  for (const value of long) {
    longValues.string(value);
  }
  let slabBytes = 4;
  for (const slab of slabs) {
    slabBytes += 8 + slab.bytes.length;
  }

  const totalBytes =
    HEADER_BYTES +
    metadata.bytes.length +
    issuers.length +
    longBytes +
    slabBytes +
    tableBytes +
    TRAILER_BYTES;
  const hash = createHash('sha256');
  const checked = (chunk: Buffer): Buffer => {
    hash.update(chunk);
    return chunk;
  };
  const unchanged = (): void => {
    if (changed()) {
      throw new DenyListSnapshotError(
        'snapshot_list_changed',
        'deny-list changed while its snapshot was being streamed; encode it again',
      );
    }
  };

  yield checked(
    Buffer.concat([
      writeHeader({
        flags: metadata.flags,
        metaBytes: metadata.bytes.length,
        totalBytes,
        lastSeq: source.lastSeq,
        versions,
        live,
        tables: tables.length,
      }),
      metadata.bytes,
      issuers,
      longValues.done(),
      new SectionWriter(4).u32(slabs.length).done(),
    ]),
  );
  unchanged();
  for (const slab of slabs) {
    const slots = slab.bytes.length / slab.slotBytes;
    yield checked(new SectionWriter(8).u32(slab.slotBytes).u32(slots).done());
    unchanged();
    for (let at = 0; at < slab.bytes.length; at += SLAB_CHUNK) {
      const end = Math.min(slab.bytes.length, at + SLAB_CHUNK);
      yield checked(Buffer.from(slab.bytes.buffer, at, end - at));
      unchanged();
    }
  }

  // Pass 3: the records, with the slots of pass 2 and unused bytes zeroed.
  const renumbering = new SlotRenumbering();
  for (const table of tables) {
    const { records, rawIds, rawKeys } = table.snapshotSource();
    yield checked(
      new SectionWriter(stringBytes(table.claim) + 4).string(table.claim).u32(table.count).done(),
    );
    unchanged();
    const ids: [number, string][] = [];
    const keys: [number, string][] = [];
    let k = 0;
    let chunk = new Int32Array(0);
    let bytes = new Uint8Array(0);
    let inChunk = 0;
    for (let r = 0; r < records.end; r += 1) {
      const words = records.ints(r);
      const from = records.intIndex(r, 0);
      const shape = words[from + I_SHAPE]!;
      if (shape === FREE) {
        continue;
      }
      if (inChunk === chunk.length / WORDS_PER_RECORD) {
        const buffer = new ArrayBuffer(Math.min(RECORDS_PER_CHUNK, table.count - k) * RECORD_BYTES);
        chunk = new Int32Array(buffer);
        bytes = new Uint8Array(buffer);
        inChunk = 0;
      }
      const base = inChunk * WORDS_PER_RECORD;
      for (let w = 0; w < WORDS_PER_RECORD; w += 1) {
        chunk[base + w] = words[from + w]!;
      }
      const valueShape = shape >>> FLAG_BITS;
      if (isInline(valueShape)) {
        const value = 4 * base + U8_VALUE;
        for (let b = value + packedBytes(valueShape); b < value + INLINE_BYTES; b += 1) {
          bytes[b] = 0;
        }
      } else {
        chunk[base + I_SLOT] = renumbering.take(valueShape);
        for (let w = base + I_SLOT + 1; w < base + (U8_VALUE + INLINE_BYTES) / 4; w += 1) {
          chunk[w] = 0;
        }
      }
      if ((shape & RAW_ID) !== 0) {
        for (let w = base + I_ID; w < base + I_ID + 4; w += 1) {
          chunk[w] = 0;
        }
        ids.push([k, rawIds.get(r)!]);
      }
      if ((shape & RAW_KEY) !== 0) {
        keys.push([k, rawKeys.get(r)!]);
      }
      k += 1;
      inChunk += 1;
      if (inChunk === chunk.length / WORDS_PER_RECORD) {
        yield checked(Buffer.from(chunk.buffer));
        unchanged();
      }
    }
    if (k !== table.count) {
      throw new Error(`claim table ${table.claim} counts ${table.count} records, holds ${k}`);
    }
    for (const raw of [ids, keys]) {
      let rawBytes = 4;
      for (const [, value] of raw) {
        rawBytes += 4 + stringBytes(value);
      }
      const out = new SectionWriter(rawBytes).u32(raw.length);
      for (const [record, value] of raw) {
        out.u32(record).string(value);
      }
      yield checked(out.done());
      unchanged();
    }
  }
  yield hash.digest();
}
