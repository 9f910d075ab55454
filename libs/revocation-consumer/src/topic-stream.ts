import { type Consumer, type EachBatchPayload, Kafka, logLevel } from 'kafkajs';
import type { ConsumerSettings } from './options';
import type { PartitionEnds, PartitionStart } from './start-position';

/** What the stream hands on: each message in offset order, and its progress. */
export interface TopicStreamHandlers {
  message(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Record<string, unknown> | undefined,
  ): void;
  /** Joined the group, or read a partition up to its catch-up offset: see `caughtUp`. */
  progress(): void;
  /** kafkajs crashed; it restarts by itself unless the consumer was stopped. */
  crashed(error: Error, restart: boolean): void;
}

/** The kafkajs client of one consumer, with the library's retry defaults under the host's. */
export function createKafka(settings: ConsumerSettings): Kafka {
  return new Kafka({
    logLevel: logLevel.NOTHING,
    ...settings.kafka,
    clientId: settings.clientId,
    brokers: settings.brokers,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000, ...settings.kafka?.retry },
  });
}

/** The first and the next offset of every partition of `topic`, right now. */
export async function fetchTopicEnds(
  kafka: Kafka,
  topic: string,
): Promise<Map<number, PartitionEnds>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads the invalidation topic with a kafkajs consumer of a group unique to this instance, from
 * the positions it is given, and keeps track of what it consumed: where to resume, how far
 * behind each partition is, and whether it caught up with the topic as it was at start.
 */
export class TopicStream {
  private readonly consumer: Consumer;
  /** Per partition: the offset to read from, and the last offset to catch up to (null: done). */
  private readonly pinned: Map<number, PartitionStart>;
  private readonly highWatermarks = new Map<number, bigint>();
  private readonly consumedOffsets = new Map<number, bigint>();
  private joined = false;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    groupId: string,
    settings: Pick<ConsumerSettings, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxWaitTimeMs'>,
    positions: ReadonlyMap<number, PartitionStart>,
    private readonly handlers: TopicStreamHandlers,
    isStopped: () => boolean,
  ) {
    this.pinned = new Map([...positions].map(([partition, start]) => [partition, { ...start }]));
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      retry: {
        retries: Number.MAX_SAFE_INTEGER,
        initialRetryTime: 200,
        maxRetryTime: 5000,
        // kafkajs disconnects on a crash and then schedules a restart; a stop() that lands while
        // it is disconnecting would otherwise be outrun by that restart, and the stopped consumer
        // would go on reconnecting for ever (and keep its process alive).
        restartOnFailure: () => Promise.resolve(!isStopped()),
      },
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) =>
      handlers.crashed(payload.error, payload.restart),
    );
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.seekOnJoin());
  }

  /** Connects and starts consuming; resolves once kafkajs runs (not once it has joined). */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    // Offsets are never committed: the group is unique to this instance and never resumed.
    await this.consumer.run({
      autoCommit: false,
      eachBatch: (payload) => this.applyBatch(payload),
    });
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }

  /** Joined, and every partition read up to the offset it had when the consumer started. */
  get caughtUp(): boolean {
    if (!this.joined) {
      return false;
    }
    for (const pin of this.pinned.values()) {
      if (pin.catchUpTo !== null) {
        return false;
      }
    }
    return true;
  }

  /** The partitions read. */
  partitions(): number[] {
    return [...this.pinned.keys()];
  }

  /** Per partition whose end the broker has reported, the messages not yet consumed. */
  *lags(): Iterable<[partition: number, lag: number]> {
    for (const partition of this.highWatermarks.keys()) {
      yield [partition, this.lag(partition) ?? 0];
    }
  }

  /** Per partition, the next offset to read: where a restart resumes. */
  resumeOffsets(): Map<number, bigint> {
    const offsets = new Map<number, bigint>();
    for (const [partition, { from }] of this.pinned) {
      offsets.set(partition, this.nextOffset(partition, from));
    }
    return offsets;
  }

  /** Messages of `partition` not yet consumed, or null before the broker reported its end. */
  lag(partition: number): number | null {
    const high = this.highWatermarks.get(partition);
    if (high === undefined) {
      return null;
    }
    const consumed =
      this.consumedOffsets.get(partition) ?? (this.pinned.get(partition)?.from ?? 0n) - 1n;
    return Number(high - 1n - consumed);
  }

  private nextOffset(partition: number, from: bigint): bigint {
    const consumed = this.consumedOffsets.get(partition);
    return consumed === undefined ? from : consumed + 1n;
  }

  /**
   * Where to read from is this instance's to say (its group commits nothing), on every join: the
   * first, from the pinned offsets, and the one after kafkajs restarts a crashed consumer (a new
   * group session, which would otherwise read the topic again from its beginning), from just
   * after what was consumed. Never right after run(): a first join that fails (the group
   * coordinator still loading, as right after a broker starts) makes kafkajs restart the
   * consumer, and a seek in between throws "consumer#run must be called first".
   */
  private seekOnJoin(): void {
    for (const [partition, { from }] of this.pinned) {
      const offset = this.nextOffset(partition, from).toString();
      this.consumer.seek({ topic: this.topic, partition, offset });
    }
    this.joined = true;
    this.handlers.progress();
  }

  private async applyBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const message of batch.messages) {
      if (!payload.isRunning()) {
        break;
      }
      this.handlers.message(
        batch.partition,
        message.offset,
        message.key,
        message.value,
        message.headers,
      );
      payload.resolveOffset(message.offset);
    }
    this.highWatermarks.set(batch.partition, BigInt(batch.highWatermark));
    if (batch.messages.length > 0) {
      this.consumedOffsets.set(batch.partition, BigInt(batch.lastOffset()));
    }
    const pin = this.pinned.get(batch.partition);
    if (
      pin !== undefined &&
      pin.catchUpTo !== null &&
      BigInt(batch.lastOffset()) >= pin.catchUpTo
    ) {
      pin.catchUpTo = null;
      this.handlers.progress();
    }
    await payload.heartbeat();
  }
}
