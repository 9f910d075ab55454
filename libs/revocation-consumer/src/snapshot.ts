import {
  type InvalidationEventV1,
  InvalidationEventV1Schema,
  type SnapshotEndV1,
  SnapshotEndV1Schema,
  type SnapshotHeaderV1,
  SnapshotHeaderV1Schema,
} from '@rescind/contracts';
import { DenyList, DenyListSnapshotError } from '@rescind/rules';
import { z } from 'zod';
import { failingAs, reasonOf, RevocationConsumerError } from './errors';
import { issueReason, type UnreadableLine, unreadableLine } from './unreadable-rules';

/**
 * Where an enforcement point loads the current deny-list from at start-up: the writer's
 * `GET /v1/deny-list/snapshot`, with a credential of the `reader` role.
 *
 * @example
 * const snapshot: SnapshotSource = { url: 'https://rescind.internal/v1/deny-list/snapshot', token: process.env.RESCIND_TOKEN! };
 */
export interface SnapshotSource {
  url: string;
  /** Bearer API credential (`rsk_…`) with the read permission. */
  token: string;
  /** Give up after this long (ms). Default 60000. */
  timeoutMs?: number;
  /**
   * `binary` (default): ask for the binary snapshot the writer materialises (about 73 bytes per
   * rule, loaded without an object per rule, with the topic offsets it stands at) and take NDJSON
   * if that is what the writer answers; `ndjson`: ask for NDJSON only.
   */
  format?: 'binary' | 'ndjson';
}

/** The media type of the binary deny-list snapshot (`DenyList.toSnapshot`). */
export const BINARY_SNAPSHOT_TYPE = 'application/vnd.rescind.deny-list';

/** What the writer puts in a binary snapshot's metadata: where its list stands on the topic. */
export const BinarySnapshotMetaSchema = z.object({
  format: z.literal('rescind-deny-list-snapshot'),
  topic: z.string(),
  /** Per partition, the next offset to read after the state the snapshot holds. */
  offsets: z.record(z.string().regex(/^\d+$/), z.string().regex(/^\d+$/)),
  createdAt: z.number(),
});
export type BinarySnapshotMeta = z.infer<typeof BinarySnapshotMetaSchema>;

/** A binary snapshot, loaded: the list, and where to resume reading the topic. */
export interface LoadedBinarySnapshot {
  list: DenyList;
  topic: string;
  offsets: Map<number, bigint>;
  lastSeq: number;
  createdAt: number;
}

/** The snapshot as the writer sent it: one of the two formats. */
export type FetchedSnapshot =
  | { format: 'binary'; snapshot: LoadedBinarySnapshot }
  | { format: 'ndjson'; loaded: LoadedSnapshot };

/** What a loaded snapshot held. */
export interface LoadedSnapshot {
  header: SnapshotHeaderV1;
  /** Rule events handed to `apply`. */
  rules: number;
  /** Rule lines that could not be read, handed to `skip`. */
  unreadable: number;
}

/**
 * Streams the snapshot and hands every rule event to `apply` as it arrives (NDJSON, line by
 * line: never the whole body in memory). A rule line that cannot be read (not JSON, or not a
 * valid invalidation event) is handed to `skip` and counted towards the end line's count: one
 * rule this consumer cannot read must not keep it from every other rule. Throws when the
 * snapshot is refused, its framing is broken (no valid header, an invalid end line, data after
 * the end line) or it was cut short (no end line, or a count that differs from the rule lines
 * received, readable or not): apply into a list you discard then. What it throws is a
 * {@link RevocationConsumerError}: `snapshot_unavailable`, `snapshot_truncated` or
 * `snapshot_invalid`.
 */
export async function loadSnapshot(
  source: SnapshotSource,
  apply: (event: InvalidationEventV1) => void,
  skip: (line: UnreadableLine & { line: number }) => void = () => undefined,
): Promise<LoadedSnapshot> {
  return readNdjson(await requestSnapshot({ ...source, format: 'ndjson' }), apply, skip);
}

/**
 * Requests the snapshot in the format `source` prefers and loads whichever the writer sends:
 * the binary one into a list of its own (all or nothing: a checksum guards it), or NDJSON
 * through `apply` and `skip` as {@link loadSnapshot} does. Throws what `loadSnapshot` throws.
 */
export async function fetchSnapshot(
  source: SnapshotSource,
  apply: (event: InvalidationEventV1) => void,
  skip: (line: UnreadableLine & { line: number }) => void = () => undefined,
): Promise<FetchedSnapshot> {
  const response = await requestSnapshot(source);
  const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === BINARY_SNAPSHOT_TYPE) {
    return { format: 'binary', snapshot: await readBinary(response, source) };
  }
  return { format: 'ndjson', loaded: await readNdjson(response, apply, skip) };
}

async function requestSnapshot(source: SnapshotSource): Promise<Response> {
  const accept =
    source.format === 'ndjson'
      ? 'application/x-ndjson'
      : `${BINARY_SNAPSHOT_TYPE}, application/x-ndjson;q=0.5`;
  const response = await fetch(source.url, {
    headers: { authorization: `Bearer ${source.token}`, accept },
    signal: AbortSignal.timeout(source.timeoutMs ?? 60_000),
  }).catch((error: unknown) => {
    throw new RevocationConsumerError(
      'snapshot_unavailable',
      `snapshot request failed: ${reasonOf(error)}`,
      { cause: error },
    );
  });
  if (!response.ok || !response.body) {
    throw new RevocationConsumerError(
      'snapshot_unavailable',
      `snapshot request failed: HTTP ${response.status}`,
    );
  }
  return response;
}

async function readBinary(
  response: Response,
  source: SnapshotSource,
): Promise<LoadedBinarySnapshot> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new RevocationConsumerError(
      'snapshot_truncated',
      `binary snapshot was cut short: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  let loaded: ReturnType<typeof DenyList.fromSnapshot>;
  try {
    loaded = DenyList.fromSnapshot(bytes);
  } catch (error) {
    const truncated = error instanceof DenyListSnapshotError && error.code === 'snapshot_truncated';
    throw new RevocationConsumerError(
      truncated ? 'snapshot_truncated' : 'snapshot_invalid',
      `binary snapshot from ${source.url} refused: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  const meta = BinarySnapshotMetaSchema.safeParse(loaded.meta);
  if (!meta.success) {
    throw new RevocationConsumerError(
      'snapshot_invalid',
      `binary snapshot metadata is invalid: ${issueReason(meta.error)}`,
      { cause: meta.error },
    );
  }
  return {
    list: loaded.list,
    topic: meta.data.topic,
    offsets: new Map(
      Object.entries(meta.data.offsets).map(([partition, offset]) => [
        Number(partition),
        BigInt(offset),
      ]),
    ),
    lastSeq: loaded.lastSeq,
    createdAt: meta.data.createdAt,
  };
}

async function readNdjson(
  response: Response,
  apply: (event: InvalidationEventV1) => void,
  skip: (line: UnreadableLine & { line: number }) => void,
): Promise<LoadedSnapshot> {
  const decoder = new TextDecoder();
  let header: SnapshotHeaderV1 | undefined;
  let end: SnapshotEndV1 | undefined;
  let rules = 0;
  let unreadable = 0;
  let number = 0;
  let buffered = '';
  const unreadableRule = (text: string, json: unknown, reason: string): void => {
    unreadable += 1;
    skip({ ...unreadableLine(text, json, reason), line: number });
  };
  const line = (text: string): void => {
    number += 1;
    if (text.length === 0) {
      return;
    }
    if (end !== undefined) {
      throw new RevocationConsumerError('snapshot_invalid', 'snapshot has data after its end line');
    }
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      // Not the parser's message: it quotes the line.
      if (header === undefined) {
        throw new RevocationConsumerError('snapshot_invalid', 'snapshot header line is not JSON');
      }
      return unreadableRule(text, undefined, 'not JSON');
    }
    if (header === undefined) {
      const parsed = SnapshotHeaderV1Schema.safeParse(json);
      if (!parsed.success) {
        throw new RevocationConsumerError(
          'snapshot_invalid',
          `snapshot header line is invalid: ${issueReason(parsed.error)}`,
          { cause: parsed.error },
        );
      }
      header = parsed.data;
      return;
    }
    const last = SnapshotEndV1Schema.safeParse(json);
    if (last.success) {
      end = last.data;
      return;
    }
    if ((json as { type?: unknown } | null)?.type === 'snapshot.end') {
      throw new RevocationConsumerError(
        'snapshot_invalid',
        `snapshot end line is invalid: ${issueReason(last.error)}`,
        { cause: last.error },
      );
    }
    const event = InvalidationEventV1Schema.safeParse(json);
    if (!event.success) {
      return unreadableRule(text, json, issueReason(event.error));
    }
    apply(event.data);
    rules += 1;
  };
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  const cutShort = (error: unknown): RevocationConsumerError =>
    new RevocationConsumerError(
      'snapshot_truncated',
      `snapshot was cut short after ${rules + unreadable} rules: ${reasonOf(error)}`,
      { cause: error },
    );
  for await (const chunk of failingAs(body, cutShort)) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      line(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  line(buffered + decoder.decode());
  if (header === undefined) {
    throw new RevocationConsumerError('snapshot_invalid', 'snapshot was empty: no header line');
  }
  // The end line counts rule lines, readable or not (the writer counts rows): a snapshot that
  // lost lines on the way is still told apart from one with lines this consumer cannot read.
  const received = rules + unreadable;
  const ofWhich = unreadable > 0 ? ` (${unreadable} unreadable)` : '';
  if (end === undefined) {
    throw new RevocationConsumerError(
      'snapshot_truncated',
      `snapshot was cut short after ${received} rules${ofWhich}: no end line`,
    );
  }
  if (end.rules !== received) {
    throw new RevocationConsumerError(
      'snapshot_truncated',
      `snapshot was cut short: ${received} rules received${ofWhich}, ${end.rules} announced`,
    );
  }
  return { header, rules, unreadable };
}
