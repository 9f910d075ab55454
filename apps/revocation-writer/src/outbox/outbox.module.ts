import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { HeartbeatPublisher } from './heartbeat';
import { KafkaPublisher } from './kafka-publisher';
import { OutboxListener } from './outbox-listener';
import { OutboxRelay } from './outbox-relay';
import { type OutboxMessage, OutboxRepository } from './outbox.repository';
import { PublishWatermark } from './publish-watermark';
import { WriterMetrics } from '../metrics/writer-metrics';
import { BatchedPurge } from '../database/batched-purge';

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
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {
    this.relay = new OutboxRelay(
      (limit) => this.outbox.publishPending(limit, (messages) => this.publish(messages)),
      config.outbox,
    );
    this.listener = new OutboxListener(
      config.database,
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
    this.purge = new BatchedPurge(
      'published outbox row',
      (limit) => this.outbox.purgePublished(this.config.outbox.retentionSeconds, limit),
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
        this.metrics.publishLatency.record(acknowledgedAt - committedAt);
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

@Module({
  providers: [
    OutboxRepository,
    KafkaPublisher,
    OutboxRelayService,
    HeartbeatPublisher,
    // Plain class shared by the LISTEN session (commits) and the heartbeat (claims).
    { provide: PublishWatermark, useFactory: () => new PublishWatermark() },
  ],
  exports: [OutboxRepository, KafkaPublisher, OutboxRelayService],
})
export class OutboxModule {}
