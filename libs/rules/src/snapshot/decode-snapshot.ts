import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import {
  AUTH_TIME,
  ClaimTable,
  EXPIRES_AT_NULL,
  FLAG_BITS,
  isInline,
  RAW_ID,
  RAW_KEY,
  REVOKED_BEFORE_NULL,
} from '../compact/claim-table';
import { Issuers } from '../compact/issuers';
import { ENC_STRING, ENC_UUID, PackedStrings } from '../compact/packed-strings';
import {
  F_EXPIRES_AT,
  F_REVOKED_BEFORE,
  F_SEQ,
  I_ISSUER,
  I_SHAPE,
  I_SLOT,
  RECORD_BYTES,
  RecordPages,
} from '../compact/record-pages';
import { SectionReader } from './snapshot-bytes';
import { DenyListSnapshotError } from './snapshot-error';
import { FLAG_META_JSON, readHeader, TRAILER_BYTES } from './snapshot-layout';

/** A DenyList's parts as read from a snapshot. */
export interface DecodedSnapshot {
  /** In the order `check` visits them. */
  tables: ClaimTable[];
  strings: PackedStrings;
  issuers: Issuers;
  lastSeq: number;
  /** Stored versions: live rules and removal markers. */
  rules: number;
  meta: unknown;
  formatVersion: string;
}

function invalid(message: string): DenyListSnapshotError {
  return new DenyListSnapshotError('snapshot_invalid', `deny-list snapshot invalid: ${message}`);
}

/** A claim table as read, before its records are checked and its hash slots rebuilt. */
interface TableBody {
  claim: string;
  records: RecordPages;
  rawIds: Map<number, string>;
  rawKeys: Map<number, string>;
}

function readRawStrings(
  body: SectionReader,
  count: number,
  claim: string,
  what: string,
): Map<number, string> {
  const n = body.u32(`${claim}: count of ${what}`);
  const strings = new Map<number, string>();
  for (let i = 0; i < n; i += 1) {
    const record = body.u32(`${claim}: ${what} record`);
    if (record >= count || strings.has(record)) {
      throw invalid(`${claim}: ${what} for record ${record}, of ${count} (or given twice)`);
    }
    strings.set(record, body.string(`${claim}: ${what}`));
  }
  return strings;
}

/** Names a record in a message (built only on failure: the loop runs for every record). */
function recordName(claim: string, r: number): string {
  return `${claim}: record ${r}`;
}

/**
 * Checks every record of a table against the rest of the snapshot (its value's slot exists,
 * its issuer is named, its numbers are numbers, its flags are ones `ClaimTable.write` sets,
 * its strings kept beside it are there), so a body that passed the checksum but was written
 * wrong fails here and not on a later `check`. Counts each issuer's uses into `refs`. Two
 * records of the same (value, issuer), or two sharing a slab slot, are not looked for: that
 * would cost what the format saves, a list never writes them, and the checksum is what guards
 * against damage (it is no signature: trust comes from where the snapshot was fetched).
 */
function checkRecords(
  table: TableBody,
  strings: PackedStrings,
  names: readonly (string | null)[],
  refs: number[],
  lastSeq: number,
): void {
  const { claim, records, rawIds, rawKeys } = table;
  let ids = 0;
  let keys = 0;
  for (let r = 0; r < records.end; r += 1) {
    const shape = records.int(r, I_SHAPE);
    const valueShape = shape >>> FLAG_BITS;
    const encoding = valueShape & 7;
    if (shape < 0 || encoding > ENC_STRING) {
      throw invalid(`${recordName(claim, r)} has shape word 0x${(shape >>> 0).toString(16)}`);
    }
    if (isInline(valueShape)) {
      if (encoding === ENC_UUID && valueShape >>> 3 !== 36) {
        throw invalid(`${recordName(claim, r)} is a UUID of ${valueShape >>> 3} characters`);
      }
    } else if (
      (encoding === ENC_STRING && valueShape !== ENC_STRING) ||
      !strings.hasSlot(valueShape, records.int(r, I_SLOT))
    ) {
      throw invalid(
        `${recordName(claim, r)}: its value's slot ${records.int(r, I_SLOT)} is not in the snapshot`,
      );
    }
    if ((shape & REVOKED_BEFORE_NULL) !== 0 && (shape & AUTH_TIME) !== 0) {
      throw invalid(`${recordName(claim, r)} has an auth_time cutoff without a revokedBefore`);
    }
    const issuer = records.int(r, I_ISSUER);
    if (issuer < 0 || issuer >= names.length || (issuer !== 0 && names[issuer] === null)) {
      throw invalid(
        `${recordName(claim, r)} names issuer id ${issuer}, which the snapshot does not list`,
      );
    }
    refs[issuer] = (refs[issuer] ?? 0) + 1;
    const seq = records.double(r, F_SEQ);
    if (!Number.isFinite(seq) || seq > lastSeq) {
      throw invalid(
        `${recordName(claim, r)} has seq ${seq}, past the snapshot's lastSeq ${lastSeq}`,
      );
    }
    if (
      ((shape & REVOKED_BEFORE_NULL) === 0 &&
        !Number.isFinite(records.double(r, F_REVOKED_BEFORE))) ||
      ((shape & EXPIRES_AT_NULL) === 0 && !Number.isFinite(records.double(r, F_EXPIRES_AT)))
    ) {
      throw invalid(
        `${recordName(claim, r)} has a revokedBefore or expiresAt that is not a finite number`,
      );
    }
    if (
      ((shape & RAW_ID) !== 0) !== rawIds.has(r) ||
      ((shape & RAW_KEY) !== 0) !== rawKeys.has(r)
    ) {
      throw invalid(
        `${recordName(claim, r)}: its flags and the revocationIds and keys kept as strings disagree`,
      );
    }
    ids += (shape & RAW_ID) !== 0 ? 1 : 0;
    keys += (shape & RAW_KEY) !== 0 ? 1 : 0;
  }
  if (ids !== rawIds.size || keys !== rawKeys.size) {
    throw invalid(`${claim}: revocationIds or keys kept as strings for records that have none`);
  }
}

/**
 * Reads a snapshot (layout in snapshot-layout.ts): verifies the header, the length and the
 * SHA-256 trailer, copies the records and slabs into new typed arrays (the input is not kept),
 * checks them, and rebuilds the hash slots under `seed` and the expiry buckets. `kindOf` gives
 * a claim's `ClaimTable.kind`.
 */
export function decodeSnapshot(
  input: Uint8Array,
  seed: number,
  kindOf: (claim: string) => number,
): DecodedSnapshot {
  if (endianness() !== 'LE') {
    throw new DenyListSnapshotError(
      'snapshot_unsupported_platform',
      'deny-list snapshots are little-endian and loaded into typed arrays as they are; this host is big-endian',
    );
  }
  const header = readHeader(input);
  const bodyEnd = header.totalBytes - TRAILER_BYTES;
  const digest = createHash('sha256').update(input.subarray(0, bodyEnd)).digest();
  if (!digest.equals(input.subarray(bodyEnd, header.totalBytes))) {
    throw new DenyListSnapshotError(
      'snapshot_corrupt',
      `deny-list snapshot corrupt: the SHA-256 of its ${bodyEnd} bytes does not match its trailer`,
    );
  }
  if (!Number.isFinite(header.lastSeq) || header.lastSeq < 0) {
    throw invalid(`lastSeq ${header.lastSeq}`);
  }
  const body = new SectionReader(input, header.headerBytes, bodyEnd);

  const metaBytes = body.bytes(header.metaBytes, 'metadata');
  let meta: unknown;
  if ((header.flags & FLAG_META_JSON) !== 0) {
    try {
      meta = JSON.parse(Buffer.from(metaBytes).toString('utf8'));
    } catch (error) {
      throw invalid(`its metadata is flagged as JSON but is not: ${(error as Error).message}`);
    }
  } else {
    meta = Buffer.from(metaBytes);
  }

  const issuerCount = body.u32('issuer count');
  if (issuerCount === 0 || issuerCount > body.remaining) {
    throw invalid(`issuer count ${issuerCount}`);
  }
  const names: (string | null)[] = [null];
  const seen = new Set<string>();
  for (let id = 1; id < issuerCount; id += 1) {
    const length = body.i32(`issuer ${id} (length)`);
    if (length < -1) {
      throw invalid(`issuer ${id} has length ${length}`);
    }
    const name = length === -1 ? null : body.codeUnits(length, `issuer ${id}`);
    if (name !== null && seen.has(name)) {
      throw invalid(`issuer ${JSON.stringify(name)} is listed twice`);
    }
    if (name !== null) {
      seen.add(name);
    }
    names.push(name);
  }

  const longCount = body.u32('count of long values');
  if (longCount > body.remaining) {
    throw invalid(`${longCount} long values in ${body.remaining} bytes`);
  }
  const long: string[] = [];
  for (let i = 0; i < longCount; i += 1) {
    long.push(body.string(`long value ${i}`));
  }

  const slabCount = body.u32('slab count');
  const slabs: { slotBytes: number; slots: number; bytes: Uint8Array }[] = [];
  const slotSizes = new Set<number>();
  for (let i = 0; i < slabCount; i += 1) {
    const slotBytes = body.u32(`slab ${i} (slot bytes)`);
    const slots = body.u32(`slab ${i} (slots)`);
    if (slotBytes === 0 || slotBytes % 4 !== 0 || slotSizes.has(slotBytes)) {
      throw invalid(`slab ${i} has slots of ${slotBytes} bytes (or a second slab of that size)`);
    }
    slotSizes.add(slotBytes);
    slabs.push({ slotBytes, slots, bytes: body.bytes(slotBytes * slots, `slab ${i}`) });
  }
  const strings = PackedStrings.restore(slabs, long);

  const bodies: TableBody[] = [];
  const claims = new Set<string>();
  const refs: number[] = [0];
  let rules = 0;
  for (let t = 0; t < header.tables; t += 1) {
    const claim = body.string(`claim table ${t} (claim)`);
    if (claims.has(claim)) {
      throw invalid(`two claim tables for ${JSON.stringify(claim)}`);
    }
    claims.add(claim);
    const count = body.u32(`${claim}: record count`);
    if (count === 0) {
      throw invalid(`the claim table for ${JSON.stringify(claim)} has no records`);
    }
    const records = RecordPages.restore(
      body.bytes(count * RECORD_BYTES, `${claim}: records`),
      count,
    );
    const rawIds = readRawStrings(body, count, claim, 'revocationIds');
    const rawKeys = readRawStrings(body, count, claim, 'keys');
    const table = { claim, records, rawIds, rawKeys };
    checkRecords(table, strings, names, refs, header.lastSeq);
    bodies.push(table);
    rules += count;
  }
  if (body.remaining !== 0) {
    throw invalid(`${body.remaining} bytes between the last claim table and the trailer`);
  }
  if (rules !== header.versions) {
    throw invalid(`its header counts ${header.versions} versions, its tables hold ${rules}`);
  }

  const issuers = Issuers.restore(names, refs);
  const tables = bodies.map((table) =>
    ClaimTable.restore(
      table.claim,
      kindOf(table.claim),
      strings,
      issuers,
      seed,
      table.records,
      table.rawIds,
      table.rawKeys,
    ),
  );
  const live = tables.reduce((sum, table) => sum + table.live, 0);
  if (live !== header.live) {
    throw invalid(`its header counts ${header.live} live rules, its tables hold ${live}`);
  }
  return {
    tables,
    strings,
    issuers,
    lastSeq: header.lastSeq,
    rules,
    meta,
    formatVersion: `${header.major}.${header.minor}`,
  };
}
