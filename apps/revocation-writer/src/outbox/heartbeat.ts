import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { rows } from '../database/sql';
import { KafkaPublisher } from './kafka-publisher';

/**
 * Publishes a heartbeat with the highest committed `seq` to every partition of the invalidation
 * topic at a fixed interval. Enforcement points measure their freshness by it: when heartbeats
 * stop (writer down, broker down, consumer cut off) they know, and apply their staleness policy.
 */
@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HeartbeatPublisher.name);
  private readonly writer = `${hostname()}-${process.pid}`;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: KafkaPublisher,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.kafka.heartbeatIntervalMs === 0) {
      return;
    }
    this.timer = setInterval(() => {
      this.inFlight ??= this.beat().finally(() => (this.inFlight = null));
    }, this.config.kafka.heartbeatIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
    }
    await this.inFlight;
  }

  /** One heartbeat; failures are logged once per outage (the relay reports Kafka health). */
  async beat(): Promise<void> {
    try {
      // The rules table holds the latest version of every rule: its highest seq is the latest
      // committed change (reinstated and expired rules keep theirs).
      const [row] = await rows<{ seq: string | null }>(
        this.dataSource.manager,
        `SELECT max(seq) AS seq FROM revocation_rule`,
      );
      await this.publisher.publishHeartbeat({
        v: 1,
        type: 'heartbeat',
        seq: Number(row?.seq ?? 0),
        at: Date.now(),
        writer: this.writer,
      });
      if (this.failing) {
        this.logger.log('heartbeats flowing again');
        this.failing = false;
      }
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(`heartbeat failed (${String(error)}); enforcement points will turn stale`);
        this.failing = true;
      }
    }
  }
}
