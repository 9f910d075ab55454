import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InjectConfig, type WriterConfig } from '../config/config';
import { BatchedPurge } from '../database/batched-purge';
import { ProcessedEventsRepository } from '../write-path/processed-events.repository';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * Deletes idempotency records older than `IDEMPOTENCY_RETENTION_DAYS`, which would otherwise
 * grow by one row per event forever, and the webhook replay guards with them: a webhook id is
 * guarded as long as the event it carried is. The price: a source that replays an event id after
 * the retention has it processed again. For raises that is harmless (the rule is raised to the
 * same or a later value); sources retry within minutes, not weeks, and a signed delivery replayed
 * later than its timestamp tolerance is refused anyway.
 */
@Injectable()
export class IdempotencyRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly purges: BatchedPurge[];

  constructor(
    dataSource: DataSource,
    processedEvents: ProcessedEventsRepository,
    webhookDeliveries: WebhookDeliveriesRepository,
    @InjectConfig('idempotency') { retentionDays }: WriterConfig['idempotency'],
  ) {
    const logger = new Logger(IdempotencyRetention.name);
    this.purges = [
      new BatchedPurge(
        'idempotency record',
        (limit) => processedEvents.purgeOlderThan(dataSource.manager, retentionDays, limit),
        logger,
      ),
      new BatchedPurge(
        'webhook replay guard',
        (limit) => webhookDeliveries.purgeOlderThan(dataSource.manager, retentionDays, limit),
        logger,
      ),
    ];
  }

  onApplicationBootstrap(): void {
    for (const purge of this.purges) {
      purge.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.purges.map((purge) => purge.stop()));
  }

  /** One run: every record and guard past the retention, in bounded batches; returns how many. */
  async purgeAll(): Promise<number> {
    let deleted = 0;
    for (const purge of this.purges) {
      deleted += await purge.purgeAll();
    }
    return deleted;
  }
}
