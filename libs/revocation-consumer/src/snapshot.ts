import {
  type InvalidationEventV1,
  InvalidationEventV1Schema,
  type SnapshotEndV1,
  SnapshotEndV1Schema,
  type SnapshotHeaderV1,
  SnapshotHeaderV1Schema,
} from '@rescind/contracts';

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
}

/**
 * Streams the snapshot and hands every rule event to `apply` as it arrives (NDJSON, line by
 * line: never the whole body in memory). Returns the header (watermark) and the rule count.
 * Throws when the snapshot is refused, malformed, or cut short (no end line, or a count that
 * differs from the lines received): apply into a list you discard then.
 */
export async function loadSnapshot(
  source: SnapshotSource,
  apply: (event: InvalidationEventV1) => void,
): Promise<{ header: SnapshotHeaderV1; rules: number }> {
  const response = await fetch(source.url, {
    headers: { authorization: `Bearer ${source.token}`, accept: 'application/x-ndjson' },
    signal: AbortSignal.timeout(source.timeoutMs ?? 60_000),
  });
  if (!response.ok || !response.body) {
    throw new Error(`snapshot request failed: HTTP ${response.status}`);
  }
  const decoder = new TextDecoder();
  let header: SnapshotHeaderV1 | undefined;
  let end: SnapshotEndV1 | undefined;
  let rules = 0;
  let buffered = '';
  const line = (text: string): void => {
    if (text.length === 0) {
      return;
    }
    if (end !== undefined) {
      throw new Error('snapshot has data after its end line');
    }
    const json = JSON.parse(text) as unknown;
    if (header === undefined) {
      header = SnapshotHeaderV1Schema.parse(json);
      return;
    }
    const last = SnapshotEndV1Schema.safeParse(json);
    if (last.success) {
      end = last.data;
      return;
    }
    apply(InvalidationEventV1Schema.parse(json));
    rules += 1;
  };
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      line(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  line(buffered + decoder.decode());
  if (header === undefined) {
    throw new Error('snapshot was empty: no header line');
  }
  if (end === undefined) {
    throw new Error(`snapshot was cut short after ${rules} rules: no end line`);
  }
  if (end.rules !== rules) {
    throw new Error(`snapshot was cut short: ${rules} rules received, ${end.rules} announced`);
  }
  return { header, rules };
}
