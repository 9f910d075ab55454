/**
 * Why a deny-list snapshot could not be written or read; a closed set, stable across releases
 * (new codes may be added, none renamed).
 *
 * - `snapshot_truncated`: the input is shorter than its header says (a download or a file cut
 *   short). Fetching it again may help.
 * - `snapshot_corrupt`: the input has the declared length but its SHA-256 trailer does not match
 *   (a damaged byte). Fetching it again may help.
 * - `snapshot_invalid`: not a snapshot this library reads: another format (no `RSCDL` magic),
 *   another major format version, unknown flags, data after the trailer, or a checksummed body
 *   whose contents contradict each other (written by a broken writer).
 * - `snapshot_list_changed`: the list was changed (`apply`, `pruneExpired`) while its snapshot
 *   was being streamed, so the chunks already handed out describe no single state. Start again.
 * - `snapshot_unsupported_platform`: this host is big-endian; the format is little-endian and
 *   written from the list's typed arrays as they are.
 *
 * @example
 * try {
 *   const { list } = DenyList.fromSnapshot(body);
 * } catch (e) {
 *   if (e instanceof DenyListSnapshotError && e.retriable) return retryLater();
 *   throw e;
 * }
 */
export type DenyListSnapshotErrorCode =
  | 'snapshot_truncated'
  | 'snapshot_corrupt'
  | 'snapshot_invalid'
  | 'snapshot_list_changed'
  | 'snapshot_unsupported_platform';

const RETRIABLE: Readonly<Record<DenyListSnapshotErrorCode, boolean>> = {
  snapshot_truncated: true,
  snapshot_corrupt: true,
  snapshot_invalid: false,
  snapshot_list_changed: true,
  snapshot_unsupported_platform: false,
};

/**
 * What `DenyList.fromSnapshot` and the snapshot encoders throw. Tell failures apart by `code`,
 * never by `message` (for people; it says what is wrong and where). `retriable` is true when
 * fetching or encoding the snapshot again may succeed.
 *
 * @example
 * new DenyListSnapshotError('snapshot_truncated', 'deny-list snapshot truncated: 10 of 64 bytes');
 */
export class DenyListSnapshotError extends Error {
  override readonly name = 'DenyListSnapshotError';
  readonly retriable: boolean;

  constructor(
    readonly code: DenyListSnapshotErrorCode,
    message: string,
  ) {
    super(message);
    this.retriable = RETRIABLE[code];
  }
}
