import { DenyListSnapshotError } from './snapshot-error';

/*
 * The binary snapshot of a whole DenyList, format 1.0. Integers are little-endian; a string is
 * a u32 count of UTF-16 code units followed by the units (UTF-16LE: lone surrogates, which a
 * rule may hold, survive, where UTF-8 would replace them).
 *
 *   header, HEADER_BYTES (64) bytes
 *     0   5  magic "RSCDL"
 *     5   1  major format version (1); a reader refuses any other
 *     6   1  minor format version (0); a later 1.x may only lengthen the header, which a 1.0
 *            reader skips
 *     7   1  flags: bit 0 = the metadata is UTF-8 JSON (else opaque bytes); other bits are 0
 *     8   4  header length in bytes (64 in 1.0)
 *    12   4  metadata length in bytes
 *    16   8  total length in bytes, trailer included (u64)
 *    24   8  lastSeq (f64)
 *    32   4  stored versions (live rules and removal markers)
 *    36   4  live rules
 *    40   4  claim tables
 *    44  20  zero
 *   metadata        the caller's bytes (the writer's topic, offsets and creation time)
 *   issuers         u32 n, then for issuer ids 1..n-1 an i32 length (-1: unused id) and that
 *                   many code units; id 0 is "any issuer" and has no entry
 *   long values     u32 n, then n strings: values too long to pack (slots 0..n-1)
 *   slabs           u32 n, then per slab: u32 slot bytes, u32 slots, slots * slot bytes
 *                   (packed values too long for a record, slots 0..slots-1, none free)
 *   claim tables    in the order `check` visits them, each: string claim, u32 records, then
 *                   records * 64 bytes (record-pages.ts has the layout; records 0..n-1, none
 *                   free), then the revocationIds and the keys kept as strings, each as
 *                   u32 n, then n * (u32 record, string)
 *   trailer         SHA-256 of every byte before it (32 bytes)
 *
 * The records and slabs are the list's own typed-array bytes, renumbered densely (records and
 * slots freed by pruning are left out) and with bytes no field uses set to zero, so a list
 * encodes to the same bytes however it got to its state, given the same versions in the same
 * record order. What the list computes from them is left out and rebuilt on load: the hash
 * slots (a new random seed per loaded list, see DenyList.fromSnapshot), the expiry buckets,
 * the issuers' use counts and the free lists.
 */
export const MAGIC = Buffer.from('RSCDL', 'latin1');
export const MAJOR_VERSION = 1;
export const MINOR_VERSION = 0;
export const HEADER_BYTES = 64;
export const TRAILER_BYTES = 32;
export const FLAG_META_JSON = 1;
const KNOWN_FLAGS = FLAG_META_JSON;

export interface SnapshotHeader {
  major: number;
  minor: number;
  flags: number;
  headerBytes: number;
  metaBytes: number;
  totalBytes: number;
  lastSeq: number;
  versions: number;
  live: number;
  tables: number;
}

export function writeHeader(header: Omit<SnapshotHeader, 'major' | 'minor' | 'headerBytes'>) {
  const buffer = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(buffer, 0);
  buffer[5] = MAJOR_VERSION;
  buffer[6] = MINOR_VERSION;
  buffer[7] = header.flags;
  buffer.writeUInt32LE(HEADER_BYTES, 8);
  buffer.writeUInt32LE(header.metaBytes, 12);
  buffer.writeBigUInt64LE(BigInt(header.totalBytes), 16);
  buffer.writeDoubleLE(header.lastSeq, 24);
  buffer.writeUInt32LE(header.versions, 32);
  buffer.writeUInt32LE(header.live, 36);
  buffer.writeUInt32LE(header.tables, 40);
  return buffer;
}

function invalid(message: string): DenyListSnapshotError {
  return new DenyListSnapshotError('snapshot_invalid', `deny-list snapshot invalid: ${message}`);
}

/**
 * The header of `input`, with the checks that need nothing else: the magic, the major version,
 * the flags, and the total length against the input's (shorter: `snapshot_truncated`; longer:
 * `snapshot_invalid`). The checksum is the caller's next step.
 */
export function readHeader(input: Uint8Array): SnapshotHeader {
  const seen = Math.min(input.length, MAGIC.length);
  if (input.length === 0) {
    throw new DenyListSnapshotError('snapshot_truncated', 'deny-list snapshot truncated: empty');
  }
  if (!MAGIC.subarray(0, seen).equals(input.subarray(0, seen))) {
    throw invalid(
      `not a deny-list snapshot (it starts with ${Buffer.from(input.subarray(0, seen)).toString('hex')}, not the magic bytes "RSCDL")`,
    );
  }
  if (input.length < 8) {
    throw new DenyListSnapshotError(
      'snapshot_truncated',
      `deny-list snapshot truncated: ${input.length} bytes, shorter than its ${HEADER_BYTES}-byte header`,
    );
  }
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const major = bytes[5]!;
  const minor = bytes[6]!;
  if (major !== MAJOR_VERSION) {
    throw invalid(
      `format version ${major}.${minor}; this library reads ${MAJOR_VERSION}.x only` +
        (major > MAJOR_VERSION ? ' (upgrade @rescind/rules to read it)' : ''),
    );
  }
  if (input.length < HEADER_BYTES) {
    throw new DenyListSnapshotError(
      'snapshot_truncated',
      `deny-list snapshot truncated: ${input.length} bytes, shorter than its ${HEADER_BYTES}-byte header`,
    );
  }
  const flags = bytes[7]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw invalid(`unknown flags 0x${flags.toString(16)} in a version ${major}.${minor} header`);
  }
  const headerBytes = bytes.readUInt32LE(8);
  const total = bytes.readBigUInt64LE(16);
  if (headerBytes < HEADER_BYTES || BigInt(headerBytes + TRAILER_BYTES) > total) {
    throw invalid(`header length ${headerBytes} and total length ${total} do not fit together`);
  }
  if (total > BigInt(input.length)) {
    throw new DenyListSnapshotError(
      'snapshot_truncated',
      `deny-list snapshot truncated: ${input.length} of the ${total} bytes its header declares`,
    );
  }
  if (total < BigInt(input.length)) {
    throw invalid(
      `${BigInt(input.length) - total} bytes after the end (${total} bytes declared, ${input.length} given)`,
    );
  }
  return {
    major,
    minor,
    flags,
    headerBytes,
    metaBytes: bytes.readUInt32LE(12),
    totalBytes: Number(total),
    lastSeq: bytes.readDoubleLE(24),
    versions: bytes.readUInt32LE(32),
    live: bytes.readUInt32LE(36),
    tables: bytes.readUInt32LE(40),
  };
}
