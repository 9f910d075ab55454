import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import { RevocationConsumerError } from './errors';
import { keptNote } from './message-applier';
import type { ConsumerLogger } from './options';
import { loadList } from './persistence';
import { fetchSnapshot, type SnapshotSource } from './snapshot';
import { type PartitionEnds, type PartitionStart, startPositions } from './start-position';
import {
  heldRevocation,
  identify,
  keptEvent,
  type UnreadableLine,
  type UnreadableRules,
} from './unreadable-rules';

/** Pauses between bootstrap attempts while the broker or the writer is unreachable. */
const BOOTSTRAP_BACKOFF = { initialMs: 250, capMs: 10_000 };
/** Unreadable snapshot lines warned about one by one; the rest are summed up in one warning. */
const SNAPSHOT_WARNINGS = 10;

/** A list read from `persistPath`, and where it resumes reading the topic. */
interface SavedList {
  list: DenyList;
  offsets: Map<number, bigint>;
}

/** What the bootstrap reads from and reports to. */
export interface BootstrapSources {
  topic: string;
  topicEnds(): Promise<Map<number, PartitionEnds>>;
  snapshot?: SnapshotSource;
  persistPath?: string;
  logger: ConsumerLogger;
  /** Where the snapshot's unreadable rule lines are counted, once the snapshot is accepted. */
  unreadable: UnreadableRules;
  /** Every failed attempt (`status().lastError`). */
  failed(error: unknown): void;
  /** A list was loaded: `check` answers from it from now on. */
  serve(list: DenyList): void;
}

/**
 * Loads the list the consumer starts from and says where each partition is read from. The
 * saved list (`persistPath`), if any, is served at once, but kept aside: a snapshot, when it
 * loads, replaces it entirely. It holds every rule live now, while the saved list may still
 * hold a rule reinstated since, whose removal lies before the offsets pinned for the snapshot
 * and would never be read. Rejects with `consumer_stopped` once `stopped` is aborted.
 */
export async function bootstrap(
  sources: BootstrapSources,
  stopped: AbortSignal,
): Promise<Map<number, PartitionStart>> {
  const saved = sources.persistPath ? await loadSavedList(sources, sources.persistPath) : undefined;
  if (saved) {
    // Served (keep-last, fail-open) while the broker or the snapshot is unreachable: the last
    // known list, and revoked tokens in it stay denied under every policy.
    sources.serve(saved.list);
  }
  const { ends, snapshot } = await pinAndLoadSnapshot(sources, saved?.list, stopped);
  if (snapshot) {
    sources.serve(snapshot.list);
  }
  // A binary snapshot says where its list stands on the topic: read on from there, as from a
  // saved list. An NDJSON one is complete up to the ends pinned before it was asked for.
  const { partitions, gaps } = startPositions({
    ends,
    snapshotLoaded: snapshot !== undefined && snapshot.offsets === undefined,
    savedOffsets: snapshot?.offsets ?? saved?.offsets,
  });
  for (const { partition, from, to } of gaps) {
    sources.logger.warn(
      `partition ${partition}: events from offset ${from} to ${to} are gone (retention); ` +
        'the saved list may miss them: configure `snapshot` to bootstrap from the writer',
    );
  }
  return partitions;
}

/**
 * Reads the saved list into a list of its own, kept only if the whole file passes its checks;
 * returns it with where to resume reading, or undefined (no file, or one that cannot be
 * trusted: ignored with a warning).
 */
async function loadSavedList(
  { topic, logger }: BootstrapSources,
  path: string,
): Promise<SavedList | undefined> {
  const list = new DenyList();
  try {
    const saved = await loadList(path, topic, (event) => list.apply(event));
    if (!saved) {
      return undefined;
    }
    logger.info(`loaded ${saved.rules} rules from ${path}`);
    return { list, offsets: saved.offsets };
  } catch (error) {
    logger.warn(`ignoring ${path}: ${String(error)}`);
    return undefined;
  }
}

/**
 * Pins the topic's end offsets, then loads the snapshot (if configured) into a list of its
 * own, so that a snapshot cut short leaves nothing behind. Until both succeed it retries with
 * back-off (the consumer is not ready meanwhile, and the staleness policy answers), unless the
 * saved list can stand in for an unavailable snapshot, or `stopped` is aborted.
 */
async function pinAndLoadSnapshot(
  sources: BootstrapSources,
  saved: DenyList | undefined,
  stopped: AbortSignal,
): Promise<{ ends: Map<number, PartitionEnds>; snapshot?: SnapshotList }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const ends = await sources.topicEnds();
      if (!sources.snapshot) {
        return { ends };
      }
      try {
        return { ends, snapshot: await loadSnapshotList(sources, sources.snapshot, saved) };
      } catch (error) {
        if (!saved) {
          throw error;
        }
        sources.logger.warn(
          `snapshot unavailable (${String(error)}); resuming from the saved list`,
        );
        return { ends };
      }
    } catch (error) {
      sources.failed(error);
      const delayMs = backoffDelay(attempt, BOOTSTRAP_BACKOFF);
      sources.logger.warn(
        `cannot bootstrap the deny-list (attempt ${attempt}, next in ${delayMs} ms): ${String(error)}`,
      );
      await sleep(delayMs, undefined, { signal: stopped }).catch(() => undefined);
      if (stopped.aborted) {
        throw new RevocationConsumerError(
          'consumer_stopped',
          'revocation consumer stopped before it was ready',
        );
      }
    }
  }
}

/** A loaded snapshot's list, and (binary snapshots) the topic offsets it stands at. */
interface SnapshotList {
  list: DenyList;
  offsets?: Map<number, bigint>;
}

/**
 * Loads the snapshot into a list of its own. A binary snapshot is all or nothing (checksummed),
 * and must be of this consumer's topic. In an NDJSON one, a rule line it cannot read is skipped and, once
 * the snapshot is accepted, counted; when the list held so far (the saved one) has a live
 * version of that key, the version is carried over: the snapshot replaces that list, and a
 * revocation is never dropped because its update was unreadable.
 */
async function loadSnapshotList(
  sources: BootstrapSources,
  source: SnapshotSource,
  held: DenyList | undefined,
): Promise<SnapshotList> {
  const { logger } = sources;
  const list = new DenyList();
  const skipped: {
    last: (UnreadableLine & { at: number; location: string; keptSeq: number | null }) | null;
  } = { last: null };
  let warned = 0;
  const skip = (line: UnreadableLine & { line: number }): void => {
    const now = Date.now();
    const kept = held === undefined ? undefined : heldRevocation(held, line.key, now);
    if (kept) {
      list.apply(keptEvent(kept, now));
    }
    const location = `snapshot line ${line.line}`;
    skipped.last = { ...line, at: now, location, keptSeq: kept?.seq ?? null };
    if (warned < SNAPSHOT_WARNINGS) {
      warned += 1;
      logger.warn(
        `skipped unreadable rule at ${location} (${identify(line)}): ${line.reason}; ${keptNote(line, kept)}`,
      );
    }
  };
  // Bulk state, not propagation: no latency samples and no 'rule' event per snapshot line.
  const fetched = await fetchSnapshot(source, (event) => list.apply(event), skip);
  if (fetched.format === 'binary') {
    const { snapshot } = fetched;
    if (snapshot.topic !== sources.topic) {
      throw new RevocationConsumerError(
        'snapshot_invalid',
        `the binary snapshot is of topic "${snapshot.topic}", this consumer reads "${sources.topic}"`,
      );
    }
    logger.info(
      `loaded ${snapshot.list.size} rules from the binary snapshot (seq ${snapshot.lastSeq}, ` +
        `${Math.round((Date.now() - snapshot.createdAt) / 1000)} s old)`,
    );
    return { list: snapshot.list, offsets: snapshot.offsets };
  }
  const { header, rules, unreadable } = fetched.loaded;
  if (skipped.last !== null) {
    sources.unreadable.record('snapshot', unreadable, skipped.last);
    logger.warn(
      `skipped ${unreadable} unreadable rule line(s) of the snapshot` +
        (unreadable > warned ? ` (${unreadable - warned} not logged one by one)` : '') +
        ': the rules they carry are not enforced here unless an older version was kept; ' +
        'see status().unreadableRules',
    );
  }
  logger.info(`loaded ${rules} rules from the snapshot (watermark seq ${header.watermark})`);
  return { list };
}
