import { Module } from '@nestjs/common';
import { configSliceToken, type WriterConfig } from '../config/config';
import { RecordRevocation } from '../write-path/record-revocation';
import { WriterMetrics } from '../metrics/writer-metrics';
import { WritePathModule } from '../write-path/write-path.module';
import { BulkEventsController } from './bulk-events.controller';
import { IdempotencyRetention } from './idempotency-retention';
import { IngestSourceEvent } from './ingest-source-event';
import { KafkaIngestConsumer } from './kafka-ingest.consumer';
import { KafkaIngestServer, kafkaIngestOptions } from './kafka-ingest.server';
import { SourceAuthGuard } from './source-auth.guard';
import { SourceEventsController } from './source-events.controller';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/** HR, IdP and SIEM events in: signed webhooks and the Kafka input topics, mapped to commands. */
@Module({
  imports: [WritePathModule],
  // KafkaIngestConsumer holds the input topics' @EventPattern handlers: Nest looks for them
  // among controllers. The transport that feeds them is KafkaIngestServer (bootstrap.ts).
  controllers: [BulkEventsController, SourceEventsController, KafkaIngestConsumer],
  providers: [
    IdempotencyRetention,
    WebhookDeliveriesRepository,
    IngestSourceEvent,
    SourceAuthGuard,
    {
      provide: KafkaIngestServer,
      useFactory: (
        kafka: WriterConfig['kafka'],
        sources: WriterConfig['sources'],
        writePath: WriterConfig['writePath'],
        recordRevocation: RecordRevocation,
        metrics: WriterMetrics,
      ) =>
        new KafkaIngestServer(
          kafkaIngestOptions(
            { kafka, sources, writePath },
            (commands) => recordRevocation.executeMany(commands),
            (topic, reason) => metrics.deadLetters.add(1, { topic, reason }),
          ),
        ),
      inject: [
        configSliceToken('kafka'),
        configSliceToken('sources'),
        configSliceToken('writePath'),
        RecordRevocation,
        WriterMetrics,
      ],
    },
  ],
})
export class IngestModule {}
