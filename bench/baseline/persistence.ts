/**
 * The deny-list persistence as it was before the streaming rewrite (commit 6ebb36e,
 * libs/revocation-consumer/src/persistence.ts: one JSON document built and parsed whole), kept
 * verbatim so `BENCH_IMPL=baseline npm run bench:persist` can measure both in the same
 * conditions. Benchmark-only: not exported, not tested.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { type InvalidationEventV1, InvalidationEventV1Schema } from '@rescind/contracts';
import type { RuleVersion } from '@rescind/rules';
import { z } from 'zod';

const FORMAT = 'rescind-deny-list';
const VERSION = 1;

const FileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  topic: z.string(),
  savedAt: z.number(),
  /** Per partition, the next offset to read. */
  offsets: z.record(z.string(), z.string().regex(/^\d+$/)),
  events: z.array(z.unknown()),
  checksum: z.string(),
});

/** What a saved deny-list holds: the rules (removal markers too) and where to resume reading. */
export interface PersistedList {
  topic: string;
  savedAt: number;
  offsets: Map<number, bigint>;
  events: InvalidationEventV1[];
}

function checksum(body: Omit<z.infer<typeof FileSchema>, 'checksum'>): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** The event that recreates a stored version. */
export function eventFor(version: RuleVersion, savedAt: number): InvalidationEventV1 {
  const envelope = {
    v: 1 as const,
    key: version.key,
    seq: version.seq,
    revocationId: version.revocationId,
    committedAt: savedAt,
  };
  const identity = { claim: version.claim, value: version.value, iss: version.iss };
  return version.removed
    ? { ...envelope, type: 'rule.removed', rule: identity, expiresAt: version.expiresAt }
    : {
        ...envelope,
        type: 'rule.set',
        rule: { ...identity, revokedBefore: version.revokedBefore, expiresAt: version.expiresAt },
      };
}

/**
 * Writes the list atomically: to a temporary file, flushed to disk, then renamed over the old
 * one, so a crash leaves either the old or the new file, never half of one.
 */
export async function saveList(
  path: string,
  topic: string,
  versions: Iterable<RuleVersion>,
  offsets: ReadonlyMap<number, bigint>,
): Promise<void> {
  const savedAt = Date.now();
  const body = {
    format: FORMAT as typeof FORMAT,
    version: VERSION as typeof VERSION,
    topic,
    savedAt,
    offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o.toString()])),
    events: [...versions].map((v) => eventFor(v, savedAt)),
  };
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify({ ...body, checksum: checksum(body) }));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path).catch(async (error: unknown) => {
    await rm(temporary, { force: true });
    throw error;
  });
}

/**
 * Reads a saved list. Returns undefined when there is none, and throws (with the reason) when
 * the file is corrupt, from another version, or for another topic: such a file is never trusted.
 */
export async function loadList(path: string, topic: string): Promise<PersistedList | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const parsed = FileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`not a ${FORMAT} version ${VERSION} file`);
  }
  const { checksum: stored, ...body } = parsed.data;
  if (checksum(body) !== stored) {
    throw new Error('checksum mismatch (corrupt or edited file)');
  }
  if (body.topic !== topic) {
    throw new Error(`saved for topic ${body.topic}, not ${topic}`);
  }
  return {
    topic: body.topic,
    savedAt: body.savedAt,
    offsets: new Map(Object.entries(body.offsets).map(([p, o]) => [Number(p), BigInt(o)])),
    events: body.events.map((e) => InvalidationEventV1Schema.parse(e)),
  };
}
