/** A partition's first offset and the offset its next message will get, when they were pinned. */
export interface PartitionEnds {
  low: bigint;
  high: bigint;
}

/** Where a partition is read from, and the last offset read before the consumer is ready. */
export interface PartitionStart {
  from: bigint;
  /** Null when there is nothing to catch up on: the partition holds nothing from `from` on. */
  catchUpTo: bigint | null;
}

/** What the consumer starts from: the topic's ends, and the list it loaded before reading. */
export interface StartState {
  /** Per partition, the ends pinned before the snapshot was requested. */
  ends: ReadonlyMap<number, PartitionEnds>;
  /** A snapshot was loaded after `ends` were pinned. */
  snapshotLoaded: boolean;
  /** Where the saved list (`persistPath`) resumes, per partition, when one was loaded. */
  savedOffsets?: ReadonlyMap<number, bigint>;
}

/** Events a saved list should have been followed by, that retention deleted from the topic. */
export interface RetentionGap {
  partition: number;
  /** The saved list's resume offset. */
  from: bigint;
  /** The partition's first offset now. */
  to: bigint;
}

export interface StartPositions {
  partitions: Map<number, PartitionStart>;
  /** Partitions where the saved list may miss events (warn: configure a snapshot). */
  gaps: RetentionGap[];
}

/**
 * Where each partition is read from, and up to where it must be read before `ready`. After a
 * snapshot: from the ends pinned before it (a snapshot is always the fresher state, so a saved
 * list loaded too is not resumed). Else from where the saved list was saved, but never before the
 * partition's first offset (retention may have deleted the events in between: reported in
 * `gaps`). Else from the beginning of the (compacted) topic. A partition the saved list does not
 * know is read from its beginning; a saved partition the topic no longer has is ignored.
 *
 * @example
 * const { partitions } = startPositions({ ends, snapshotLoaded: false, savedOffsets });
 */
export function startPositions(state: StartState): StartPositions {
  const resumeFrom = state.snapshotLoaded ? undefined : state.savedOffsets;
  const partitions = new Map<number, PartitionStart>();
  const gaps: RetentionGap[] = [];
  for (const [partition, { low, high }] of state.ends) {
    const saved = resumeFrom?.get(partition);
    const wanted = state.snapshotLoaded ? high : (saved ?? low);
    if (saved !== undefined && wanted < low) {
      gaps.push({ partition, from: wanted, to: low });
    }
    const from = wanted > low ? wanted : low;
    partitions.set(partition, { from, catchUpTo: high > from ? high - 1n : null });
  }
  return { partitions, gaps };
}
