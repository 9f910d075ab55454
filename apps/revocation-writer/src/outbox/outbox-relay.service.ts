import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectConfig, type WriterConfig } from '../config/config';
import { BatchedPurge } from '../database/batched-purge';
import { WriterMetrics } from '../metrics/writer-metrics';
import { KafkaPublisher } from './kafka-publisher';
import { OutboxListener } from './outbox-listener';
import { OutboxRelay } from './outbox-relay';
import { type OutboxMessage, OutboxRepository } from './outbox.repository';
import { PublishWatermark } from './publish-watermark';

/**
 * Runs the relay for the life of the application: LISTEN, publish, purge. Commit notifications
 * wake the relay and tell the heartbeat's watermark; Kafka acknowledging again after a failure
 * (a heartbeat, say) or the LISTEN session connecting again ends the relay's back-off at once.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelayService.name);
  readonly relay: OutboxRelay;
  private readonly listener: OutboxListener;
  private readonly purge: BatchedPurge;
  private readonly stopRetrying: () => void;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly publisher: KafkaPublisher,
    private readonly metrics: WriterMetrics,
    watermark: PublishWatermark,
    @InjectConfig('outbox') outboxConfig: WriterConfig['outbox'],
    @InjectConfig('database') database: WriterConfig['database'],
  ) {
    this.relay = new OutboxRelay(
      (limit) => this.outbox.publishPending(limit, (messages) => this.publish(messages)),
      outboxConfig,
    );
    this.listener = new OutboxListener(
      database,
      () => {
        watermark.notified(Date.now());
        this.relay.wake();
      },
      (connected) => {
        watermark.listenerConnected(connected);
        if (connected) {
          this.relay.retryNow();
        }
      },
    );
    this.stopRetrying = publisher.onAnswersAgain(() => this.relay.retryNow());
    // The outbox feeds the metrics, never the other way round (no module cycle).
    metrics.observeOutboxBacklog(() => this.outbox.backlog());
    this.purge = new BatchedPurge(
      'published outbox row',
      (limit) => this.outbox.purgePublished(outboxConfig.retentionSeconds, limit),
      this.logger,
    );
  }

  private async publish(messages: OutboxMessage[]): Promise<void> {
    await this.publisher.publish(messages);
    const acknowledgedAt = Date.now();
    for (const message of messages) {
      // Tombstones (null) carry no commit time.
      const committedAt = (message.payload as { committedAt?: unknown } | null)?.committedAt;
      if (typeof committedAt === 'number') {
        this.metrics.publishLatency.record((acknowledgedAt - committedAt) / 1000);
      }
    }
  }

  onApplicationBootstrap(): void {
    void this.publisher.ensureTopic();
    this.listener.start();
    this.relay.start();
    this.purge.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopRetrying();
    await this.purge.stop();
    await this.relay.stop();
    await this.listener.stop();
  }
}
