import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type EventSourceName, SOURCE_EVENT_SCHEMA_VERSION, tokenHash } from '@rescind/contracts';
import {
  type Consumer,
  type EachMessagePayload,
  type IHeaders,
  Kafka,
  logLevel,
  type Producer,
} from 'kafkajs';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { isDatabaseUnavailable, RescindError } from '../errors';
import { IngestSourceEvent } from './ingest-source-event';

/** Unknown errors are retried this often before the message is dead-lettered: no stuck partition. */
const MAX_UNEXPECTED_FAILURES = 5;

/** Headers of a dead letter: why, and where the original came from. */
export const DeadLetterHeaders = {
  reason: 'rescind-dlq-reason',
  detail: 'rescind-dlq-detail',
  topic: 'rescind-dlq-source-topic',
  partition: 'rescind-dlq-source-partition',
  offset: 'rescind-dlq-source-offset',
  failedAt: 'rescind-dlq-failed-at',
} as const;

class StoppingError extends Error {}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * Consumes the HR, IdP and SIEM input topics. Each message goes through the same use case as the
 * webhooks; its offset is committed only after that transaction committed. Messages that can never
 * be processed go to the dead-letter topic with the reason and the original bytes, and the
 * partition moves on; PostgreSQL outages are retried with back-off and never dead-lettered.
 */
@Injectable()
export class KafkaIngestConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KafkaIngestConsumer.name);
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private stopping = false;
  private readonly sourceByTopic: Map<string, EventSourceName>;

  constructor(
    private readonly ingest: IngestSourceEvent,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {
    this.kafka = new Kafka({
      ...config.kafka.security,
      clientId: `${config.kafka.clientId}-ingest`,
      brokers: config.kafka.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    const { sources, topics } = config.sources.kafka;
    this.sourceByTopic = new Map(sources.map((s) => [topics[s], s]));
  }

  onApplicationBootstrap(): void {
    if (this.sourceByTopic.size > 0) {
      void this.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }

  /** Starts consuming; retries while Kafka is unreachable instead of failing the writer. */
  private async start(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const producer = this.kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        this.producer = producer;
        const consumer = this.kafka.consumer({
          groupId: this.config.sources.kafka.groupId,
          sessionTimeout: 30_000,
          heartbeatInterval: 3000,
          maxWaitTimeInMs: this.config.sources.kafka.maxWaitMs,
        });
        this.consumer = consumer;
        await consumer.connect();
        await consumer.subscribe({ topics: [...this.sourceByTopic.keys()], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: 3,
          eachMessage: (payload) => this.handle(payload),
        });
        this.logger.log(`consuming ${[...this.sourceByTopic.keys()].join(', ')}`);
        return;
      } catch (error) {
        await this.consumer?.disconnect().catch(() => undefined);
        await this.producer?.disconnect().catch(() => undefined);
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        this.logger.warn(`input topics unavailable (${String(error)}); retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  private async handle(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const source = this.sourceByTopic.get(topic)!;
    const receivedAt = new Date();
    let unexpected = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) {
        throw new StoppingError('shutting down: the offset stays uncommitted'); // redelivered later
      }
      try {
        await this.process(source, message.value, message.headers, receivedAt);
        break;
      } catch (error) {
        const retriable =
          isDatabaseUnavailable(error) ||
          (error instanceof RescindError
            ? error.retriable
            : ++unexpected < MAX_UNEXPECTED_FAILURES);
        if (!retriable) {
          await this.deadLetter(
            topic,
            partition,
            message.offset,
            message.key,
            message.value,
            message.headers,
            error,
          );
          break;
        }
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        this.logger.warn(
          `${topic}/${partition}@${message.offset}: ${String(error)}; retrying in ${delay} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        await payload.heartbeat();
      }
    }
    // Only now, after the transaction (or the dead letter) is durable.
    await this.consumer!.commitOffsets([
      { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
    ]);
  }

  private async process(
    source: EventSourceName,
    value: Buffer | null,
    headers: IHeaders | undefined,
    receivedAt: Date,
  ): Promise<void> {
    const version = headerText(headers, 'rescind-schema-version');
    if (version !== undefined && version !== SOURCE_EVENT_SCHEMA_VERSION) {
      throw new RescindError(
        'unsupported_schema_version',
        `schema version "${version}" is not supported (expected "${SOURCE_EVENT_SCHEMA_VERSION}")`,
        422,
        false,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(value?.toString('utf8') ?? '');
    } catch {
      throw new RescindError('malformed_json', 'the message value is not JSON', 400, false);
    }
    const traceContext: Record<string, string> = {};
    for (const name of ['traceparent', 'tracestate']) {
      const text = headerText(headers, name);
      if (text !== undefined) {
        traceContext[name] = text;
      }
    }
    await this.ingest.execute({
      source,
      body,
      principal: { id: `kafka:${source}`, name: `${source} input topic`, role: source },
      receivedAt,
      traceContext,
    });
  }

  private async deadLetter(
    topic: string,
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: IHeaders | undefined,
    error: unknown,
  ): Promise<void> {
    const reason = error instanceof RescindError ? error.code : 'internal_error';
    const detail = error instanceof Error ? error.message : String(error);
    this.logger.warn(`dead-lettering ${topic}/${partition}@${offset}: ${reason}: ${detail}`);
    await this.producer!.send({
      topic: this.config.sources.kafka.deadLetterTopic,
      acks: -1,
      messages: [
        {
          key,
          value: redactRawToken(value),
          headers: {
            ...headers,
            [DeadLetterHeaders.reason]: reason,
            [DeadLetterHeaders.detail]: detail.slice(0, 2000),
            [DeadLetterHeaders.topic]: topic,
            [DeadLetterHeaders.partition]: String(partition),
            [DeadLetterHeaders.offset]: offset,
            [DeadLetterHeaders.failedAt]: new Date().toISOString(),
          },
        },
      ],
    });
  }
}

/**
 * The original bytes go to the dead-letter topic, except a leaked raw token (SIEM
 * `token.leaked`), which is replaced by its hash: raw tokens are never stored.
 */
function redactRawToken(value: Buffer | null): Buffer | null {
  if (value === null) {
    return null;
  }
  try {
    const parsed = JSON.parse(value.toString('utf8')) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      typeof (parsed as { token?: unknown }).token === 'string'
    ) {
      const token = (parsed as { token: string }).token;
      return Buffer.from(JSON.stringify({ ...parsed, token: `sha256:${tokenHash(token)}` }));
    }
  } catch {
    // not JSON: kept as received
  }
  return value;
}
