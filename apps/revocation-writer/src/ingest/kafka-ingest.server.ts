import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  type CustomTransportStrategy,
  KafkaContext,
  type MessageHandler,
  Server,
} from '@nestjs/microservices';
import { backoffDelay, type EventSourceName } from '@rescind/contracts';
import { type Consumer, type EachMessagePayload, Kafka, logLevel, type Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isObservable, lastValueFrom } from 'rxjs';
import { type WriterConfig } from '../config/config';
import { type KafkaSecurity } from '../config/kafka-security';
import { RescindError } from '../errors';
import { deadLetterOf, RedactedRecord } from './dead-letter';
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
}

export function kafkaIngestOptions(
  config: Pick<WriterConfig, 'kafka' | 'sources'>,
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
 * `ServerKafka` decides differently. Per record, in partition order:
 *
 * 1. the handler of the topic's source pattern runs (`@EventPattern` in KafkaIngestConsumer)
 *    with the record's original bytes;
 * 2. a retriable failure (PostgreSQL unreachable) is retried with back-off, heartbeating, for as
 *    long as it lasts: the partition waits, nothing after it is processed or committed;
 * 3. a record that can never be processed (rejected, or it met a bug: retryVerdict) goes to the
 *    dead-letter topic at once (redacted: never a raw token, see RedactedRecord; the reason and
 *    the original's position in headers) and the partition moves on;
 * 4. only then, after the transaction or the dead letter is durable, `offset + 1` is committed.
 *
 * It connects in the background and retries while Kafka is unreachable, so the writer starts
 * (and serves HTTP) without Kafka. On shutdown a record still being retried stays uncommitted.
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
      partitionsConsumedConcurrently: 3,
      eachMessage: (payload) => this.handleRecord(consumer, producer, payload),
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

  private async handleRecord(
    consumer: Consumer,
    producer: Producer,
    payload: EachMessagePayload,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const heartbeat = () => payload.heartbeat();
    const handler = this.getHandlerByPattern(this.options.patternsByTopic.get(topic)!)!;
    const record: SourceEventRecord = {
      key: message.key,
      value: message.value,
      headers: message.headers ?? {},
      receivedAt: new Date(),
    };
    // Nest's own Kafka context, for guards and interceptors that want topic and partition.
    const context = new KafkaContext([message, partition, topic, consumer, heartbeat, producer]);
    // Log lines and the dead letter say nothing of the record that may be a token (a SIEM
    // `token.leaked` carries one); worked out once, when first needed.
    let redacted: RedactedRecord | undefined;
    const redact = (): RedactedRecord => (redacted ??= new RedactedRecord(record));
    for (let attempt = 1; ; attempt++) {
      if (this.stopping.signal.aborted) {
        throw new StoppingError('shutting down: the offset stays uncommitted');
      }
      try {
        await this.invoke(handler, record, context);
        break;
      } catch (error) {
        if (retryVerdict(error) === 'dead-letter') {
          this.logger.warn(
            `dead-lettering ${topic}/${partition}@${message.offset}: ${redact().scrub(explain(error))}`,
          );
          await producer.send({
            topic: this.options.deadLetterTopic,
            acks: -1,
            messages: [
              deadLetterOf(
                { topic, partition, offset: message.offset, ...record },
                error,
                new Date(),
                redact(),
              ),
            ],
          });
          break;
        }
        const delay = backoffDelay(attempt, RECORD_BACKOFF);
        this.logger.warn(
          `${topic}/${partition}@${message.offset}: ${redact().scrub(explain(error))}; retrying in ${delay} ms`,
        );
        // Woken by close(): a stopping writer does not sit out its back-off.
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        await heartbeat();
      }
    }
    // Only now, after the transaction (or the dead letter) is durable. A committed offset is the
    // next record to read: `offset + 1` (committing `offset`, as the Nest docs' example does,
    // redelivers the last record of every partition after each rebalance).
    await consumer.commitOffsets([
      { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
    ]);
  }

  /** Runs the handler chain and waits for it, observable or not, so that its error is ours. */
  private async invoke(
    handler: MessageHandler,
    record: SourceEventRecord,
    context: KafkaContext,
  ): Promise<void> {
    const result: unknown = await handler(record, context);
    if (isObservable(result)) {
      await lastValueFrom(result, { defaultValue: undefined });
    }
  }
}

function explain(error: unknown): string {
  return error instanceof RescindError ? `${error.code}: ${error.message}` : String(error);
}
