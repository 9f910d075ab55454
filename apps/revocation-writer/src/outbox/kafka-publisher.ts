import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  type HeartbeatV1,
  heartbeatKey,
  INVALIDATION_SCHEMA,
  InvalidationHeaders,
  topicSpecs,
} from '@rescind/contracts';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { InjectConfig, type WriterConfig } from '../config/config';
import { ensureTopics } from '../topics/ensure-topics';
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
 * Tells `onAnswersAgain` listeners when the broker acknowledges a send (a heartbeat, say) after a
 * send failed: that is how the relay learns that Kafka is back without probing it itself.
 */
@Injectable()
export class KafkaPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(KafkaPublisher.name);
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  /** Shut down: no new connection (a send racing the shutdown would leave one open). */
  private closed = false;
  private readonly state: PublisherState = {
    connected: false,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
  };
  private readonly answersAgainListeners = new Set<() => void>();
  /** A send failed and none has been acknowledged since. */
  private unanswered = false;

  constructor(@InjectConfig('kafka') private readonly kafkaConfig: WriterConfig['kafka']) {
    this.kafka = new Kafka({
      ...kafkaConfig.security,
      clientId: kafkaConfig.clientId,
      brokers: kafkaConfig.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      // Fail fast and let the relay's own back-off pace the retries.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  status(): PublisherState {
    return { ...this.state };
  }

  /**
   * Calls `listener` when a send is acknowledged after one failed (once per recovery, not per
   * send, so a listener that retries cannot be made to spin); returns how to unsubscribe.
   */
  onAnswersAgain(listener: () => void): () => void {
    this.answersAgainListeners.add(listener);
    return () => this.answersAgainListeners.delete(listener);
  }

  private acknowledged(): void {
    if (!this.unanswered) {
      return;
    }
    this.unanswered = false;
    for (const listener of this.answersAgainListeners) {
      listener();
    }
  }

  async publish(messages: OutboxMessage[]): Promise<void> {
    try {
      const producer = await this.connectedProducer();
      await producer.send({
        topic: this.kafkaConfig.invalidationTopic,
        acks: -1,
        messages: messages.map((m) => this.record(m)),
      });
      this.state.lastSuccessAt = Date.now();
      this.state.lastError = null;
    } catch (error) {
      this.state.lastError = error instanceof Error ? error.message : String(error);
      this.state.lastErrorAt = Date.now();
      this.unanswered = true;
      await this.reset();
      throw error;
    }
    this.acknowledged();
  }

  /**
   * A rule change as a Kafka record, keyed by rule key. A null payload is a tombstone (null
   * value): the rule was pruned, and compaction may drop the key once `delete.retention.ms` has
   * passed. It has no content type, only the schema header.
   */
  private record(m: OutboxMessage): Message {
    const schema = { [InvalidationHeaders.schemaVersion]: INVALIDATION_SCHEMA };
    if (m.payload === null) {
      return { key: m.key, value: null, headers: { ...m.headers, ...schema } };
    }
    return {
      key: m.key,
      value: JSON.stringify(m.payload),
      headers: {
        ...m.headers,
        [InvalidationHeaders.contentType]: 'application/json',
        ...schema,
      },
    };
  }

  /**
   * Sends one heartbeat to every partition of the invalidation topic (explicit partitions), so
   * every consumer sees one whatever partitions it was assigned. Each is keyed
   * `heartbeat:<partition>`: Kafka refuses keyless records on a compacted topic, and one key per
   * partition lets compaction keep just the latest heartbeat of each.
   */
  async publishHeartbeat(heartbeat: HeartbeatV1): Promise<void> {
    try {
      await this.sendHeartbeat(heartbeat);
    } catch (error) {
      this.unanswered = true;
      throw error;
    }
    this.acknowledged();
  }

  private async sendHeartbeat(heartbeat: HeartbeatV1): Promise<void> {
    const producer = await this.connectedProducer();
    const value = JSON.stringify(heartbeat);
    const partitions = await this.partitions();
    await producer.send({
      topic: this.kafkaConfig.invalidationTopic,
      acks: 1,
      messages: partitions.map((partition) => ({
        partition,
        key: heartbeatKey(partition),
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
        topics: [this.kafkaConfig.invalidationTopic],
      });
      const ids = (topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
      this.partitionCache = { ids, at: Date.now() };
      return ids;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Best effort: creates the invalidation topic if it is missing, from the project's one topic
   * spec (`topicSpecs` in libs/contracts: partitions, compaction, retention), through the same
   * `ensureTopics` as `rescind-admin topics ensure`. An existing topic is left as it is: changing
   * the configs of a live topic is the operator's deliberate `topics ensure`, not a side effect of
   * a writer starting. Clusters that cannot (no CreateTopics, or no permission) are logged and
   * ignored; the topic must then exist.
   */
  async ensureTopic(): Promise<void> {
    const topic = this.kafkaConfig.invalidationTopic;
    const specs = topicSpecs({ invalidations: topic }).filter((s) => s.role === 'invalidations');
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(topic)) {
        await ensureTopics(admin, specs);
        this.logger.log(`created topic ${topic}`);
      }
    } catch (error) {
      this.logger.warn(`could not check or create topic ${topic}: ${String(error)}; it must exist`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Disconnects once everything that sends has stopped: Nest runs the `onModuleDestroy` hooks of
   * a module's providers concurrently, so a disconnect there could race the relay's or the
   * heartbeat's last send, which would then connect again, or retry, after the application closed.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
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
    if (this.closed) {
      return Promise.reject(new Error('the Kafka publisher is shut down'));
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
