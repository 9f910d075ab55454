import { type PartitionEnds, startPositions } from './start-position';

/** Partition 0 holds offsets 0..9, partition 1 has lost 0..4 to retention (5..19), 2 is empty. */
const ends = new Map<number, PartitionEnds>([
  [0, { low: 0n, high: 10n }],
  [1, { low: 5n, high: 20n }],
  [2, { low: 3n, high: 3n }],
]);

describe(startPositions.name, () => {
  it('without a snapshot or a saved list, reads every partition from its beginning up to its end', () => {
    expect(startPositions({ ends, snapshotLoaded: false })).toEqual({
      partitions: new Map([
        [0, { from: 0n, catchUpTo: 9n }],
        [1, { from: 5n, catchUpTo: 19n }],
        [2, { from: 3n, catchUpTo: null }], // nothing to catch up on: ready once joined
      ]),
      gaps: [],
    });
  });

  it('after a snapshot, reads from the ends pinned before it, with nothing to catch up on', () => {
    expect(startPositions({ ends, snapshotLoaded: true })).toEqual({
      partitions: new Map([
        [0, { from: 10n, catchUpTo: null }],
        [1, { from: 20n, catchUpTo: null }],
        [2, { from: 3n, catchUpTo: null }],
      ]),
      gaps: [],
    });
  });

  it('prefers the snapshot to a saved list: the snapshot is always the fresher state', () => {
    const savedOffsets = new Map([
      [0, 4n],
      [1, 7n],
      [2, 3n],
    ]);
    expect(startPositions({ ends, snapshotLoaded: true, savedOffsets })).toEqual(
      startPositions({ ends, snapshotLoaded: true }),
    );
  });

  it('resumes a valid saved list from where it was saved, catching up to the end', () => {
    const savedOffsets = new Map([
      [0, 4n],
      [1, 20n], // saved at the end: nothing to catch up on
      [2, 3n],
    ]);
    expect(startPositions({ ends, snapshotLoaded: false, savedOffsets })).toEqual({
      partitions: new Map([
        [0, { from: 4n, catchUpTo: 9n }],
        [1, { from: 20n, catchUpTo: null }],
        [2, { from: 3n, catchUpTo: null }],
      ]),
      gaps: [],
    });
  });

  it('reads a saved list older than retention from the first offset left, and reports the gap (a snapshot is needed)', () => {
    const savedOffsets = new Map([
      [0, 0n],
      [1, 2n], // offsets 2..4 are gone
      [2, 1n], // 1..2 are gone, and nothing is left
    ]);
    expect(startPositions({ ends, snapshotLoaded: false, savedOffsets })).toEqual({
      partitions: new Map([
        [0, { from: 0n, catchUpTo: 9n }],
        [1, { from: 5n, catchUpTo: 19n }],
        [2, { from: 3n, catchUpTo: null }],
      ]),
      gaps: [
        { partition: 1, from: 2n, to: 5n },
        { partition: 2, from: 1n, to: 3n },
      ],
    });
  });

  it('reads a partition the saved list does not know from its beginning, and ignores one the topic no longer has', () => {
    const savedOffsets = new Map([
      [0, 6n],
      [7, 100n],
    ]);
    const { partitions, gaps } = startPositions({ ends, snapshotLoaded: false, savedOffsets });
    expect([...partitions.keys()]).toEqual([0, 1, 2]);
    expect(partitions.get(0)).toEqual({ from: 6n, catchUpTo: 9n });
    expect(partitions.get(1)).toEqual({ from: 5n, catchUpTo: 19n });
    expect(gaps).toEqual([]);
  });

  it('reads nothing of a topic without partitions', () => {
    expect(startPositions({ ends: new Map(), snapshotLoaded: false })).toEqual({
      partitions: new Map(),
      gaps: [],
    });
  });
});
