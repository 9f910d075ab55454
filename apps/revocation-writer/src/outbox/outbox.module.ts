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
import { WriterMetrics } from '../metrics/writer-metrics';
import { BatchedPurge } from '../database/batched-purge';

/** Runs the relay for the life of the application: LISTEN, publish, purge. */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelayService.name);
  readonly relay: OutboxRelay;
  private readonly listener: OutboxListener;
  private readonly purge: BatchedPurge;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly publisher: KafkaPublisher,
    private readonly metrics: WriterMetrics,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {
    this.relay = new OutboxRelay(
      (limit) => this.outbox.publishPending(limit, (messages) => this.publish(messages)),
      config.outbox,
    );
    this.listener = new OutboxListener(config.database, () => this.relay.wake());
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
      const committedAt = (message.payload as { committedAt?: unknown }).committedAt;
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
    await this.purge.stop();
    await this.relay.stop();
    await this.listener.stop();
  }
}

@Module({
  providers: [OutboxRepository, KafkaPublisher, OutboxRelayService, HeartbeatPublisher],
  exports: [OutboxRepository, KafkaPublisher, OutboxRelayService],
})
export class OutboxModule {}
