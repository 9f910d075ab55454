import { types } from 'node:util';

/**
 * Why the revocation consumer failed; a closed set, stable across releases (new codes may be
 * added, none renamed).
 *
 * Thrown to the host (from `start()`, `ready()` and `fresh()`):
 * - `consumer_not_restartable`: `start()` was called on a consumer that was stopped. Create a
 *   new one.
 * - `consumer_stopped`: `stop()` was called before the consumer was started, ready or fresh:
 *   `start()`, `ready()` and `fresh()` still waiting reject with it.
 *
 * Met while bootstrapping, and reported rather than thrown (in `status().lastError` and the
 * logger's warnings: the consumer retries the snapshot with back-off, and ignores a saved list
 * it cannot trust):
 * - `snapshot_unavailable`: the writer's snapshot could not be requested (network error,
 *   timeout, or an HTTP status other than 2xx).
 * - `snapshot_truncated`: the snapshot was cut short: its body failed while streaming, it has
 *   no end line, or its end line counts more or fewer rule lines than arrived.
 * - `snapshot_invalid`: the snapshot's framing is broken: it is empty, its header line is not
 *   a valid snapshot header, its end line is invalid, or data follows the end line.
 * - `persisted_list_unreadable`: the saved list (`persistPath`) exists but cannot be read
 *   (permissions, a directory, an I/O error).
 * - `persisted_list_corrupt`: the saved list is damaged: empty, truncated, a line that is not
 *   JSON or not a rule version, data after its end line, or a checksum that does not match.
 * - `persisted_list_foreign`: the file is not a deny-list saved by this version of the library
 *   for this topic (another format, another format version, or another topic).
 * - `persisted_list_unwritable`: saving the list to `persistPath` failed; the previous file is
 *   left in place and the list stays in memory.
 *
 * @example
 * try {
 *   await consumer.ready();
 * } catch (e) {
 *   if (e instanceof RevocationConsumerError && e.code === 'consumer_stopped') return; // shutting down
 *   throw e;
 * }
 */
export type RevocationConsumerErrorCode =
  | 'consumer_not_restartable'
  | 'consumer_stopped'
  | 'snapshot_unavailable'
  | 'snapshot_truncated'
  | 'snapshot_invalid'
  | 'persisted_list_unreadable'
  | 'persisted_list_corrupt'
  | 'persisted_list_foreign'
  | 'persisted_list_unwritable';

/**
 * The one error class the revocation consumer throws. Tell failures apart by `code` (see
 * {@link RevocationConsumerErrorCode}), never by `message`, which is for people and may change.
 * `cause` holds the underlying error (a network or file system error) when there is one.
 *
 * @example
 * consumer.start().catch((e: unknown) => {
 *   if (e instanceof RevocationConsumerError && e.code === 'consumer_stopped') return;
 *   log.error(e);
 * });
 */
export class RevocationConsumerError extends Error {
  override readonly name = 'RevocationConsumerError';

  constructor(
    readonly code: RevocationConsumerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An underlying error's message for ours, with its own cause's when it has one: Node's `fetch`
 * says only "fetch failed" and keeps "connect ECONNREFUSED …" in its cause.
 */
export function reasonOf(error: unknown): string {
  // isNativeError, not instanceof: errors from Node's own fetch may come from another realm.
  if (!types.isNativeError(error)) {
    return String(error);
  }
  const { cause } = error;
  return types.isNativeError(cause) ? `${error.message} (${cause.message})` : error.message;
}

/**
 * The items of `source`; an error while reading it (a connection reset, a timeout, a file
 * system error) becomes `failure(error)`. Errors thrown by the loop that reads the items are
 * not touched, and leaving that loop early still closes `source`.
 */
export async function* failingAs<T>(
  source: AsyncIterable<T>,
  failure: (error: unknown) => unknown,
): AsyncGenerator<T> {
  try {
    for await (const item of source) {
      yield item;
    }
  } catch (error) {
    throw failure(error);
  }
}
