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
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * Deletes webhook replay guards older than `IDEMPOTENCY_RETENTION_DAYS`, the retention of the
 * idempotency records (IdempotencyRetention): a webhook id is guarded as long as the event it
 * carried is. Past it, the same webhook id with another event is accepted as a new delivery;
 * Standard Webhooks senders retry for hours, not weeks, and the signature's timestamp tolerance
 * already refuses a captured delivery replayed minutes later.
 */
@Injectable()
export class WebhookDeliveryRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly purge: BatchedPurge;

  constructor(
    dataSource: DataSource,
    deliveries: WebhookDeliveriesRepository,
    @Inject(WRITER_CONFIG) config: WriterConfig,
  ) {
    this.purge = new BatchedPurge(
      'webhook replay guard',
      (limit) =>
        deliveries.purgeOlderThan(dataSource.manager, config.idempotency.retentionDays, limit),
      new Logger(WebhookDeliveryRetention.name),
    );
  }

  onApplicationBootstrap(): void {
    this.purge.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.purge.stop();
  }

  /** One run: every guard past the retention, in bounded batches; returns how many. */
  purgeAll(): Promise<number> {
    return this.purge.purgeAll();
  }
}
