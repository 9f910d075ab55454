import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { type InvalidationEventV1, InvalidationEventV1Schema } from '@rescind/contracts';
import type { RuleVersion } from '@rescind/rules';
import { z } from 'zod';
import { failingAs, reasonOf, RevocationConsumerError } from './errors';

/*
 * The on-disk copy of a deny-list, as lines of JSON (so it is written and read as a stream, and
 * a million rules never become one string or one array):
 *
 *   {"format":"rescind-deny-list","version":2,"topic":"…","savedAt":…,"offsets":{"0":"12"}}
 *   {"v":1,"type":"rule.set","key":"sub::alice",…}          one invalidation event per version
 *   {"end":true,"rules":1,"sha256":"…"}                       SHA-256 of every byte above it
 */
const FORMAT = 'rescind-deny-list';
const VERSION = 2;
const NEWLINE = 0x0a;
/**
 * Characters gathered before each write. The event loop runs between two writes, so this bounds
 * how long a save holds it (a few milliseconds per chunk).
 */
const WRITE_CHUNK_CHARS = 256 * 1024;

const HeaderSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  topic: z.string(),
  savedAt: z.number(),
  /** Per partition, the next offset to read. */
  offsets: z.record(z.string().regex(/^\d+$/), z.string().regex(/^\d+$/)),
});

const TrailerSchema = z.object({
  end: z.literal(true),
  rules: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Where a saved list resumes reading the topic, and what it held. */
export interface PersistedList {
  topic: string;
  savedAt: number;
  offsets: Map<number, bigint>;
  /** Rule versions in the file (removal markers included). */
  rules: number;
}

const json = (value: string | number | null): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

/**
 * The invalidation event that recreates a stored version, as one line of JSON. Written out by
 * hand rather than as an object passed to JSON.stringify: a save runs this for every rule.
 */
export function versionLine(version: RuleVersion, savedAt: number): string {
  const envelope =
    `{"v":1,"key":${json(version.key)},"seq":${version.seq},` +
    `"revocationId":${json(version.revocationId)},"committedAt":${savedAt}`;
  const identity = `"claim":${json(version.claim)},"value":${json(version.value)},"iss":${json(version.iss)}`;
  return version.removed
    ? `${envelope},"type":"rule.removed","rule":{${identity}},"expiresAt":${json(version.expiresAt)}}`
    : `${envelope},"type":"rule.set","rule":{${identity},` +
        `"revokedBefore":${json(version.revokedBefore)},` +
        (version.cutoff === 'auth_time' ? `"cutoff":"auth_time",` : '') +
        `"expiresAt":${json(version.expiresAt)}}}`;
}

/**
 * Writes the list atomically: to a temporary file, flushed to disk, then renamed over the old
 * one, so a crash leaves either the old or the new file, never half of one. Streams: the event
 * loop keeps serving requests between chunks, so `versions` may change while it is written
 * (see `DenyList.versions`); `offsets` must be taken before the first version is read, so that
 * replaying from them after a restart repairs whatever changed meanwhile. Returns the number of
 * versions written. Throws `persisted_list_unwritable` (with the underlying error as `cause`).
 */
export async function saveList(
  path: string,
  topic: string,
  versions: Iterable<RuleVersion>,
  offsets: ReadonlyMap<number, bigint>,
): Promise<number> {
  const savedAt = Date.now();
  const temporary = `${path}.${process.pid}.tmp`;
  const unwritable = (error: unknown): RevocationConsumerError =>
    new RevocationConsumerError(
      'persisted_list_unwritable',
      `could not save the deny-list to ${path}: ${reasonOf(error)}`,
      { cause: error },
    );
  const file = await open(temporary, 'w', 0o600).catch((error: unknown) => {
    throw unwritable(error);
  });
  try {
    const writer = new HashingWriter(file);
    const header: z.infer<typeof HeaderSchema> = {
      format: FORMAT,
      version: VERSION,
      topic,
      savedAt,
      offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o.toString()])),
    };
    writer.add(JSON.stringify(header));
    let rules = 0;
    for (const version of versions) {
      if (writer.add(versionLine(version, savedAt))) {
        await writer.flush();
      }
      rules += 1;
    }
    await writer.finish((sha256) => JSON.stringify({ end: true, rules, sha256 }));
    await file.sync();
    await file.close();
    await rename(temporary, path);
    return rules;
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw unwritable(error);
  }
}

/** Buffers lines, and hashes and writes them a chunk at a time. */
class HashingWriter {
  private readonly hash = createHash('sha256');
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(private readonly file: FileHandle) {}

  /** Adds a line; true when a chunk is full and should be flushed before adding more. */
  add(text: string): boolean {
    this.pending.push(text);
    this.pendingLength += text.length + 1;
    return this.pendingLength >= WRITE_CHUNK_CHARS;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) {
      return;
    }
    const chunk = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingLength = 0;
    this.hash.update(chunk, 'utf8');
    await this.file.write(chunk, null, 'utf8');
  }

  /** Writes what is pending, then the end line: the digest of everything before it. */
  async finish(end: (sha256: string) => string): Promise<void> {
    await this.flush();
    await this.file.write(`${end(this.hash.digest('hex'))}\n`, null, 'utf8');
  }
}

/**
 * Reads a saved list, handing each version to `apply` as it goes. Returns undefined when there
 * is none, and throws (with the reason) when the file is corrupt, truncated, from another
 * version, or for another topic. Nothing read from a file that then fails the checks may be
 * trusted: apply into a list you discard on error. What it throws is a
 * {@link RevocationConsumerError}: `persisted_list_corrupt`, `persisted_list_foreign` or
 * `persisted_list_unreadable`.
 */
export async function loadList(
  path: string,
  topic: string,
  apply: (event: InvalidationEventV1) => void,
): Promise<PersistedList | undefined> {
  const reader = new LineReader();
  let header: z.infer<typeof HeaderSchema> | undefined;
  let trailer: z.infer<typeof TrailerSchema> | undefined;
  let rules = 0;
  /** Handles one line; false for the end line, the only one outside the checksum. */
  const onLine = (line: Buffer, number: number): boolean => {
    if (trailer) {
      throw corrupt(`line ${number}: data after the end of the list`);
    }
    if (!header) {
      header = parseHeader(line, topic);
      return true;
    }
    const json = parseJson(line, number);
    if (isTrailer(json)) {
      const end = TrailerSchema.safeParse(json);
      if (!end.success) {
        throw corrupt(`line ${number}: not a valid end line (${end.error.issues[0]?.message})`);
      }
      trailer = end.data;
      return false;
    }
    const event = InvalidationEventV1Schema.safeParse(json);
    if (!event.success) {
      throw corrupt(`line ${number}: not a rule version (${event.error.issues[0]?.message})`);
    }
    apply(event.data);
    rules += 1;
    return true;
  };
  const missing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';
  const unreadable = (error: unknown): unknown =>
    missing(error)
      ? error
      : new RevocationConsumerError(
          'persisted_list_unreadable',
          `cannot read ${path}: ${reasonOf(error)}`,
          { cause: error },
        );
  try {
    for await (const chunk of failingAs(createReadStream(path), unreadable)) {
      reader.push(chunk as Buffer, onLine);
    }
  } catch (error) {
    if (missing(error)) {
      return undefined;
    }
    throw error;
  }
  reader.end(onLine);
  if (!header) {
    throw corrupt(`not a ${FORMAT} version ${VERSION} file (empty)`);
  }
  if (!trailer) {
    throw corrupt('truncated: the list has no end line');
  }
  if (trailer.rules !== rules || trailer.sha256 !== reader.hash.digest('hex')) {
    throw corrupt('checksum mismatch (corrupt or edited file)');
  }
  return {
    topic: header.topic,
    savedAt: header.savedAt,
    offsets: new Map(Object.entries(header.offsets).map(([p, o]) => [Number(p), BigInt(o)])),
    rules,
  };
}

/** A saved list that is ours but damaged: never trusted, not even in part. */
function corrupt(message: string): RevocationConsumerError {
  return new RevocationConsumerError('persisted_list_corrupt', message);
}

function parseJson(line: Buffer, number: number): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    throw corrupt(`line ${number}: not JSON`);
  }
}

function isTrailer(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'end' in json;
}

function parseHeader(line: Buffer, topic: string): z.infer<typeof HeaderSchema> {
  let json: unknown;
  try {
    json = JSON.parse(line.toString('utf8'));
  } catch {
    json = undefined;
  }
  const header = HeaderSchema.safeParse(json);
  if (!header.success) {
    throw new RevocationConsumerError(
      'persisted_list_foreign',
      `not a ${FORMAT} version ${VERSION} file`,
    );
  }
  if (header.data.topic !== topic) {
    throw new RevocationConsumerError(
      'persisted_list_foreign',
      `saved for topic ${header.data.topic}, not ${topic}`,
    );
  }
  return header.data;
}

type LineHandler = (line: Buffer, number: number) => boolean;

/**
 * Splits a byte stream into lines (with their newline, as written) and hashes the lines the
 * handler says belong to the checksum, a chunk at a time rather than a line at a time.
 */
class LineReader {
  readonly hash: Hash = createHash('sha256');
  private carry: Buffer = Buffer.alloc(0);
  private lines = 0;

  push(chunk: Buffer, onLine: LineHandler): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let start = 0;
    let hashedFrom = 0;
    for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
      if (!onLine(data.subarray(start, end + 1), (this.lines += 1))) {
        this.hash.update(data.subarray(hashedFrom, start));
        hashedFrom = end + 1;
      }
      start = end + 1;
    }
    this.hash.update(data.subarray(hashedFrom, start));
    this.carry = Buffer.from(data.subarray(start));
  }

  end(onLine: LineHandler): void {
    if (this.carry.length > 0) {
      // A last line without its newline: the write was cut short.
      if (onLine(this.carry, (this.lines += 1))) {
        this.hash.update(this.carry);
      }
    }
  }
}
