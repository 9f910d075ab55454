import { Module } from '@nestjs/common';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { RulesModule } from '../rules/rules.module';
import { IdempotencyRetention } from './idempotency-retention';
import { IngestSourceEvent } from './ingest-source-event';
import { KafkaIngestConsumer } from './kafka-ingest.consumer';
import { KafkaIngestServer, kafkaIngestOptions } from './kafka-ingest.server';
import { ProcessedEventsRepository } from './processed-events.repository';
import { RecordRevocation } from './record-revocation';
import { SourceAuthGuard, SourceEventsController } from './source-events.controller';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

@Module({
  imports: [RulesModule],
  // KafkaIngestConsumer holds the input topics' @EventPattern handlers: Nest looks for them
  // among controllers. The transport that feeds them is KafkaIngestServer (bootstrap.ts).
  controllers: [SourceEventsController, KafkaIngestConsumer],
  providers: [
    RecordRevocation,
    ProcessedEventsRepository,
    IdempotencyRetention,
    WebhookDeliveriesRepository,
    IngestSourceEvent,
    SourceAuthGuard,
    {
      provide: KafkaIngestServer,
      useFactory: (config: WriterConfig) => new KafkaIngestServer(kafkaIngestOptions(config)),
      inject: [WRITER_CONFIG],
    },
  ],
  exports: [RecordRevocation, IngestSourceEvent, ProcessedEventsRepository],
})
export class IngestModule {}
