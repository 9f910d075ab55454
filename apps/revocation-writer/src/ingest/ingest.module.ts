import { Module } from '@nestjs/common';
import { RulesModule } from '../rules/rules.module';
import { IdempotencyRetention } from './idempotency-retention';
import { IngestSourceEvent } from './ingest-source-event';
import { KafkaIngestConsumer } from './kafka-ingest.consumer';
import { ProcessedEventsRepository } from './processed-events.repository';
import { RecordRevocation } from './record-revocation';
import { SourceAuthGuard, SourceEventsController } from './source-events.controller';

@Module({
  imports: [RulesModule],
  controllers: [SourceEventsController],
  providers: [
    RecordRevocation,
    ProcessedEventsRepository,
    IdempotencyRetention,
    IngestSourceEvent,
    SourceAuthGuard,
    KafkaIngestConsumer,
  ],
  exports: [RecordRevocation, IngestSourceEvent, ProcessedEventsRepository],
})
export class IngestModule {}
