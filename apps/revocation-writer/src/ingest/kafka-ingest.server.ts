import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  type CustomTransportStrategy,
  KafkaContext,
  type MessageHandler,
  Server,
} from '@nestjs/microservices';
import { backoffDelay, DeadLetterHeaders, type EventSourceName } from '@rescind/contracts';
import {
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaMessage,
  logLevel,
  type Message,
  type Producer,
} from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isObservable, lastValueFrom } from 'rxjs';
import { type WriterConfig } from '../config/config';
import { type KafkaSecurity } from '../config/kafka-security';
import { RescindError } from '../errors';
import type { Settled } from '../write-path/group-commit';
import type { RevocationCommand, RevocationResult } from '../write-path/revocation-command';
import { deadLetterOf, type FailedRecord, RedactedRecord } from './dead-letter';
import { retryVerdict } from './retry-verdict';
import {
  KAFKA_INGEST_TRANSPORT,
  type SourceEventRecord,
  SourceEventPatterns,
} from './source-event-patterns';

/** The slice of the configuration the input-topic server reads. */
export interface KafkaIngestOptions {
  brokers: string[];
  /** Client id of the consumer and producer; `-ingest` is appended, nothing else. */
  clientId: string;
  security: KafkaSecurity;
  /** The consumer group, used exactly as configured (no `-server` postfix). */
  groupId: string;
  maxWaitMs: number;
  sessionTimeoutMs: number;
  /** Each consumed topic (configured at run time) and the `@EventPattern` of its source. */
  patternsByTopic: ReadonlyMap<string, string>;
  deadLetterTopic: string;
  /** Most records of one partition recorded in one transaction. */
  maxBatch: number;
  /**
   * Records the commands the handlers made of a run of records, in order, one outcome each
   * (`RecordRevocation.executeMany`): as few transactions as possible.
   */
  record(commands: RevocationCommand[]): Promise<Array<Settled<RevocationResult>>>;
  /** A dead letter of a record of `topic` is durable, for `reason` (its stable error code). */
  deadLettered?(topic: string, reason: string): void;
}

export function kafkaIngestOptions(
  config: Pick<WriterConfig, 'kafka' | 'sources' | 'writePath'>,
  record: KafkaIngestOptions['record'],
  deadLettered?: KafkaIngestOptions['deadLettered'],
): KafkaIngestOptions {
  const { sources, topics, groupId, maxWaitMs, sessionTimeoutMs, deadLetterTopic } =
    config.sources.kafka;
  return {
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    security: config.kafka.security,
    groupId,
    maxWaitMs,
    sessionTimeoutMs,
    patternsByTopic: new Map(
      sources.map((source: EventSourceName) => [topics[source], SourceEventPatterns[source]]),
    ),
    deadLetterTopic,
    maxBatch: config.writePath.maxBatchEvents,
    record,
    ...(deadLettered !== undefined && { deadLettered }),
  };
}

/** Between attempts to reach the input topics while Kafka is away. */
const CONNECT_BACKOFF = { initialMs: 1000, capMs: 30_000 };
/** Between attempts at a record while PostgreSQL is away; short, the partition waits meanwhile. */
const RECORD_BACKOFF = { initialMs: 200, capMs: 5000 };

/** The error that leaves a message uncommitted on shutdown: another writer gets it again. */
class StoppingError extends Error {}

/**
 * The writer's input topics as a Nest microservice transport (ADR 0002): a custom strategy over
 * a kafkajs consumer, because every guarantee of the ingest path sits in the parts that
 * `ServerKafka` decides differently. Per fetched batch of a partition, in runs of at most
 * `maxBatch` records, in partition order:
 *
 * 1. the handler of the topic's source pattern (`@EventPattern` in KafkaIngestConsumer) turns each
 *    record, with its original bytes, into a revocation command, or refuses it;
 * 2. the commands of the run are recorded together (`record`: one transaction, unless a command
 *    fails for itself, and then only that one fails);
 * 3. a retriable failure (PostgreSQL unreachable) is retried with back-off, heartbeating, for as
 *    long as it lasts, from the first record it failed: the partition waits, nothing after it is
 *    processed or committed;
 * 4. a record that can never be processed (refused, or it met a bug: retryVerdict) goes to the
 *    dead-letter topic (redacted: never a raw token, see RedactedRecord; the reason and the
 *    original's position in headers) and its neighbours are unaffected;
 * 5. only then, after the transaction and the dead letters are durable, the offset after the
 *    run's last record is committed.
 *
 * It connects in the background and retries while Kafka is unreachable, so the writer starts
 * (and serves HTTP) without Kafka. On shutdown, or when a rebalance took the partition away, a
 * run still being retried stays uncommitted (another writer gets it again).
 */
export class KafkaIngestServer extends Server implements CustomTransportStrategy, OnModuleDestroy {
  override readonly transportId = KAFKA_INGEST_TRANSPORT;
  protected override readonly logger = new Logger(KafkaIngestServer.name);
  private readonly kafka: Kafka;
  /** The same brokers without kafkajs' retries: one quick attempt, to see whether Kafka answers. */
  private readonly probe: Kafka;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private readonly stopping = new AbortController();
  private starting: Promise<void> | null = null;

  constructor(private readonly options: KafkaIngestOptions) {
    super();
    this.kafka = new Kafka({
      ...options.security,
      clientId: `${options.clientId}-ingest`,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.probe = new Kafka({
      ...options.security,
      clientId: `${options.clientId}-ingest`,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  }

  /** Answers at once: consuming starts in the background, retrying while Kafka is away. */
  listen(callback: (error?: unknown) => void): void {
    const unhandled = [...this.options.patternsByTopic.values()].filter(
      (pattern) => this.getHandlerByPattern(pattern) === null,
    );
    if (unhandled.length > 0) {
      callback(new Error(`no @EventPattern handler for ${unhandled.join(', ')}`));
      return;
    }
    if (this.options.patternsByTopic.size > 0 && this.starting === null) {
      this.starting = this.startWithRetry();
    }
    callback();
  }

  /** Leaves the group; a record in flight is left uncommitted (it is redelivered elsewhere). */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.disconnect();
    await this.starting;
  }

  /** Stops with the module's other providers, before PostgreSQL is closed; close() is idempotent. */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  on(): never {
    throw new Error('KafkaIngestServer has no events to listen to');
  }

  unwrap<T>(): T {
    return [this.consumer, this.producer] as T;
  }

  private async startWithRetry(): Promise<void> {
    const topics = [...this.options.patternsByTopic.keys()];
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      try {
        // kafkajs retries a connection for ~20 s before it gives up, and close() cannot cut that
        // short: while Kafka is away, only single attempts are made, between abortable sleeps.
        await this.probeBrokers();
        await this.start(topics);
        if (this.stopping.signal.aborted) {
          await this.disconnect(); // closed while connecting
        }
        return;
      } catch (error) {
        await this.disconnect();
        const delay = backoffDelay(attempt, CONNECT_BACKOFF);
        this.logger.warn(`input topics unavailable (${String(error)}); retrying in ${delay} ms`);
        await sleep(delay, undefined, { signal: this.stopping.signal, ref: false }).catch(
          () => undefined,
        );
      }
    }
  }

  private async probeBrokers(): Promise<void> {
    const admin = this.probe.admin();
    try {
      await admin.connect();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async start(topics: string[]): Promise<void> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.producer = producer;
    await producer.connect();
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(this.options.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: this.options.maxWaitMs,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.handleBatch(consumer, producer, payload),
    });
    this.logger.log(`consuming ${topics.join(', ')} in group ${this.options.groupId}`);
  }

  private async disconnect(): Promise<void> {
    const { consumer, producer } = this;
    this.consumer = null;
    this.producer = null;
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }

  private async handleBatch(
    consumer: Consumer,
    producer: Producer,
    payload: EachBatchPayload,
  ): Promise<void> {
    const { batch } = payload;
    for (let start = 0; start < batch.messages.length; start += this.options.maxBatch) {
      if (!payload.isRunning() || payload.isStale()) {
        return; // the partition was taken away: what is uncommitted is redelivered elsewhere
      }
      const run = batch.messages.slice(start, start + this.options.maxBatch);
      await this.handleRun(consumer, producer, payload, run);
      const last = run[run.length - 1]!;
      payload.resolveOffset(last.offset);
      // Only now, after the transaction (and the dead letters) are durable. A committed offset is
      // the next record to read: `offset + 1` (committing `offset`, as the Nest docs' example
      // does, redelivers the last record of every partition after each rebalance).
      await consumer.commitOffsets([
        {
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(last.offset) + 1n).toString(),
        },
      ]);
      await payload.heartbeat();
    }
  }

  /** One run of records of a partition: handled, recorded together, dead letters sent. */
  private async handleRun(
    consumer: Consumer,
    producer: Producer,
    payload: EachBatchPayload,
    messages: KafkaMessage[],
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const heartbeat = () => payload.heartbeat();
    const handler = this.getHandlerByPattern(this.options.patternsByTopic.get(topic)!)!;
    const receivedAt = new Date();
    const items = messages.map((message) => new RunItem(topic, partition, message, receivedAt));
    const deadLetters: Message[] = [];
    const deadLetter = (item: RunItem, error: unknown): void => {
      this.logger.warn(
        `dead-lettering ${topic}/${partition}@${item.message.offset}: ${item.redacted().scrub(explain(error))}`,
      );
      deadLetters.push(deadLetterOf(item.failed(), error, new Date(), item.redacted()));
    };
    // 1. Each record to its command, or refused. Handlers parse; they never touch the database.
    const commands: Array<{ item: RunItem; command: RevocationCommand }> = [];
    for (const item of items) {
      // Nest's own Kafka context, for guards and interceptors that want topic and partition.
      const context = new KafkaContext([
        item.message,
        partition,
        topic,
        consumer,
        heartbeat,
        producer,
      ]);
      try {
        commands.push({ item, command: await this.invoke(handler, item.record, context) });
      } catch (error) {
        deadLetter(item, error);
      }
    }
    // 2. Recorded together; retried from the first command that failed for want of PostgreSQL.
    let todo = commands;
    for (let attempt = 1; todo.length > 0; attempt++) {
      if (this.stopping.signal.aborted) {
        throw new StoppingError('shutting down: the offsets stay uncommitted');
      }
      const outcomes = await this.options.record(todo.map((t) => t.command));
      let retryFrom = outcomes.findIndex((o) => !o.ok && retryVerdict(o.error) === 'retry');
      if (retryFrom === -1) {
        retryFrom = todo.length;
      }
      outcomes.slice(0, retryFrom).forEach((outcome, i) => {
        if (!outcome.ok) {
          deadLetter(todo[i]!.item, outcome.error);
        }
      });
      todo = todo.slice(retryFrom);
      if (todo.length === 0) {
        break;
      }
      const failed = outcomes[retryFrom] as { error: unknown };
      const delay = backoffDelay(attempt, RECORD_BACKOFF);
      this.logger.warn(
        `${topic}/${partition}@${todo[0]!.item.message.offset} (${todo.length} records): ${todo[0]!.item.redacted().scrub(explain(failed.error))}; retrying in ${delay} ms`,
      );
      // Woken by close(): a stopping writer does not sit out its back-off.
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (!payload.isRunning() || payload.isStale()) {
        throw new StoppingError('the partition was taken away: the offsets stay uncommitted');
      }
      await heartbeat();
    }
    // 3. Dead letters are durable before the offsets move past them.
    if (deadLetters.length > 0) {
      await producer.send({ topic: this.options.deadLetterTopic, acks: -1, messages: deadLetters });
      for (const letter of deadLetters) {
        const headers = letter.headers ?? {};
        this.options.deadLettered?.(
          String(headers[DeadLetterHeaders.topic]),
          String(headers[DeadLetterHeaders.reason]),
        );
      }
    }
  }

  /** Runs the handler chain and waits for it, observable or not, so that its error is ours. */
  private async invoke(
    handler: MessageHandler,
    record: SourceEventRecord,
    context: KafkaContext,
  ): Promise<RevocationCommand> {
    let result: unknown = await handler(record, context);
    if (isObservable(result)) {
      result = await lastValueFrom(result, { defaultValue: undefined });
    }
    if (result === undefined || result === null || typeof result !== 'object') {
      throw new Error(`the handler of ${record.topic} made no revocation command`);
    }
    return result as RevocationCommand;
  }
}

/** A record of a run, with what its dead letter and log lines need, worked out when first needed. */
class RunItem {
  readonly record: SourceEventRecord;
  private redactedRecord: RedactedRecord | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly message: KafkaMessage,
    receivedAt: Date,
  ) {
    this.record = {
      topic,
      key: message.key,
      value: message.value,
      headers: message.headers ?? {},
      receivedAt,
    };
  }

  /**
   * Log lines and the dead letter say nothing of the record that may be a token (a SIEM
   * `token.leaked` carries one).
   */
  redacted(): RedactedRecord {
    return (this.redactedRecord ??= new RedactedRecord(this.record));
  }

  failed(): FailedRecord {
    return {
      ...this.record,
      partition: this.partition,
      offset: this.message.offset,
    };
  }
}

function explain(error: unknown): string {
  return error instanceof RescindError ? `${error.code}: ${error.message}` : String(error);
}
