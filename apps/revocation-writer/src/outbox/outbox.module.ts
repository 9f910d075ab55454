import { Module } from '@nestjs/common';
import { configSliceToken, type WriterConfig } from '../config/config';
import { OutboxDataSource } from './outbox-data-source';
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
    {
      provide: OutboxDataSource,
      inject: [configSliceToken('database'), configSliceToken('outbox')],
      useFactory: (database: WriterConfig['database'], outbox: WriterConfig['outbox']) =>
        OutboxDataSource.connect(database, outbox),
    },
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
