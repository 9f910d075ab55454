import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type HeartbeatV1, INVALIDATION_SCHEMA, InvalidationHeaders } from '@rescind/contracts';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import type { OutboxMessage } from './outbox.repository';

export interface PublisherState {
  connected: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/**
 * Publishes invalidation events to Kafka and remembers how that went, for health checks.
 * Not idempotent at the broker: duplicates are harmless because consumers apply by `seq`.
 * Connects lazily, so the writer starts (and keeps accepting events) while Kafka is down.
 */
@Injectable()
export class KafkaPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(KafkaPublisher.name);
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private readonly state: PublisherState = {
    connected: false,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
  };

  constructor(@Inject(WRITER_CONFIG) private readonly config: WriterConfig) {
    this.kafka = new Kafka({
      ...config.kafka.security,
      clientId: config.kafka.clientId,
      brokers: config.kafka.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      // Fail fast and let the relay's own back-off pace the retries.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  status(): PublisherState {
    return { ...this.state };
  }

  async publish(messages: OutboxMessage[]): Promise<void> {
    try {
      const producer = await this.connectedProducer();
      await producer.send({
        topic: this.config.kafka.invalidationTopic,
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: JSON.stringify(m.payload),
          headers: {
            ...m.headers,
            [InvalidationHeaders.contentType]: 'application/json',
            [InvalidationHeaders.schemaVersion]: INVALIDATION_SCHEMA,
          },
        })),
      });
      this.state.lastSuccessAt = Date.now();
      this.state.lastError = null;
    } catch (error) {
      this.state.lastError = error instanceof Error ? error.message : String(error);
      this.state.lastErrorAt = Date.now();
      await this.reset();
      throw error;
    }
  }

  /**
   * Sends one heartbeat to every partition of the invalidation topic (explicit partitions, no
   * key), so every consumer sees one whatever partitions it was assigned.
   */
  async publishHeartbeat(heartbeat: HeartbeatV1): Promise<void> {
    const producer = await this.connectedProducer();
    const value = JSON.stringify(heartbeat);
    const partitions = await this.partitions();
    await producer.send({
      topic: this.config.kafka.invalidationTopic,
      acks: 1,
      messages: partitions.map((partition) => ({
        partition,
        value,
        headers: {
          [InvalidationHeaders.contentType]: 'application/json',
          [InvalidationHeaders.schemaVersion]: INVALIDATION_SCHEMA,
        },
      })),
    });
  }

  private partitionCache: { ids: number[]; at: number } | null = null;

  /** Partition ids of the invalidation topic, refreshed every minute (partitions can be added). */
  private async partitions(): Promise<number[]> {
    if (this.partitionCache && Date.now() - this.partitionCache.at < 60_000) {
      return this.partitionCache.ids;
    }
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({
        topics: [this.config.kafka.invalidationTopic],
      });
      const ids = (topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
      this.partitionCache = { ids, at: Date.now() };
      return ids;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Best effort: real Kafka gets the topic created if it is missing; clusters that cannot
   * (no CreateTopics, or no permission) are logged and ignored, the topic must then exist.
   */
  async ensureTopic(partitions = 6): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const topics = await admin.listTopics();
      if (!topics.includes(this.config.kafka.invalidationTopic)) {
        await admin.createTopics({
          topics: [
            {
              topic: this.config.kafka.invalidationTopic,
              numPartitions: partitions,
              configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
            },
          ],
        });
        this.logger.log(`created topic ${this.config.kafka.invalidationTopic}`);
      }
    } catch (error) {
      this.logger.warn(
        `could not check or create topic ${this.config.kafka.invalidationTopic}: ${String(error)}; it must exist`,
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.reset();
  }

  /**
   * Is Kafka reachable? Connects if needed, waiting at most `timeoutMs`; an idle writer would
   * otherwise only notice an outage at its next publish.
   */
  async probe(timeoutMs: number): Promise<boolean> {
    if (this.producer) {
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)),
    );
    try {
      return await Promise.race([this.connectedProducer().then(() => true), timeout]);
    } catch (error) {
      this.state.lastError = error instanceof Error ? error.message : String(error);
      this.state.lastErrorAt = Date.now();
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer) {
      return Promise.resolve(this.producer);
    }
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<Producer> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    producer.on(producer.events.DISCONNECT, () => {
      if (this.producer === producer) {
        this.producer = null;
        this.state.connected = false;
      }
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    this.producer = producer;
    this.state.connected = true;
    return producer;
  }

  private async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    this.state.connected = false;
    await producer?.disconnect().catch(() => undefined);
  }
}
