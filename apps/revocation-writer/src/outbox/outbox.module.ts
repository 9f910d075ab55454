import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { HeartbeatPublisher } from './heartbeat';
import { KafkaPublisher } from './kafka-publisher';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRepository } from './outbox.repository';
import { PublishWatermark } from './publish-watermark';

@Module({
  // Publish latency and backlog go to the metrics: outbox depends on metrics, not the reverse.
  imports: [MetricsModule],
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
