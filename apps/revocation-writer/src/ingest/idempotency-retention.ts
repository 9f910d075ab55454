import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { ProcessedEventsRepository } from './processed-events.repository';

/** Records deleted per statement: small enough for short row locks and the statement timeout. */
export const PURGE_BATCH = 1000;
/** How often the purge runs (ms): retention is counted in days, so each run finds little. */
const PURGE_INTERVAL_MS = 60_000;

/**
 * Deletes idempotency records older than `IDEMPOTENCY_RETENTION_DAYS`, which would otherwise
 * grow by one row per event forever. The price: a source that replays an event id after the
 * retention has it processed again. For raises that is harmless (the rule is raised to the same
 * or a later value); sources retry within minutes, not weeks.
 */
@Injectable()
export class IdempotencyRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyRetention.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly processedEvents: ProcessedEventsRepository,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) {
        return; // a large backlog (first run after an upgrade) is still being purged
      }
      this.running = this.purgeAll()
        .then((n) => n > 0 && this.logger.log(`purged ${n} idempotency record(s)`))
        .catch((error: unknown) =>
          this.logger.warn(`idempotency record purge failed: ${String(error)}`),
        )
        .finally(() => (this.running = null));
    }, PURGE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops between two batches, so that shutdown never waits for a whole backlog. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) {
      clearInterval(this.timer);
    }
    await this.running;
  }

  /**
   * Deletes every record past the retention, one bounded batch per statement (each its own
   * transaction), until a batch comes back short; returns how many were deleted.
   */
  async purgeAll(): Promise<number> {
    let total = 0;
    while (!this.stopping) {
      const n = await this.processedEvents.purgeOlderThan(
        this.dataSource.manager,
        this.config.idempotency.retentionDays,
        PURGE_BATCH,
      );
      total += n;
      if (n < PURGE_BATCH) {
        break;
      }
    }
    return total;
  }
}
