import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { BatchedPurge } from '../database/batched-purge';
import { ProcessedEventsRepository } from './processed-events.repository';

/**
 * Deletes idempotency records older than `IDEMPOTENCY_RETENTION_DAYS`, which would otherwise
 * grow by one row per event forever. The price: a source that replays an event id after the
 * retention has it processed again. For raises that is harmless (the rule is raised to the same
 * or a later value); sources retry within minutes, not weeks.
 */
@Injectable()
export class IdempotencyRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly purge: BatchedPurge;

  constructor(
    dataSource: DataSource,
    processedEvents: ProcessedEventsRepository,
    @Inject(WRITER_CONFIG) config: WriterConfig,
  ) {
    this.purge = new BatchedPurge(
      'idempotency record',
      (limit) =>
        processedEvents.purgeOlderThan(dataSource.manager, config.idempotency.retentionDays, limit),
      new Logger(IdempotencyRetention.name),
    );
  }

  onApplicationBootstrap(): void {
    this.purge.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.purge.stop();
  }

  /** One run: every record past the retention, in bounded batches; returns how many. */
  purgeAll(): Promise<number> {
    return this.purge.purgeAll();
  }
}
