import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { hostname } from 'node:os';
import { InjectConfig, type WriterConfig } from '../config/config';
import { KafkaPublisher } from './kafka-publisher';
import { OutboxRepository } from './outbox.repository';
import { PublishWatermark } from './publish-watermark';

/**
 * Publishes a heartbeat to every partition of the invalidation topic at a fixed interval, saying
 * how far publishing has really got (`publishedThrough`, from the outbox; see
 * {@link PublishWatermark}). Enforcement points judge their freshness by it: when heartbeats stop
 * (writer down, broker down, consumer cut off) or report a stuck outbox, they know, and apply
 * their staleness policy. While PostgreSQL is down, heartbeats go on with what the last read
 * established, so a store outage with nothing pending does not take the fleet down.
 */
@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HeartbeatPublisher.name);
  private readonly writer = `${hostname()}-${process.pid}`;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private reading: Promise<boolean> | null = null;
  private failing = false;
  private storeFailing = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly publisher: KafkaPublisher,
    private readonly watermark: PublishWatermark,
    @InjectConfig('kafka') private readonly kafka: WriterConfig['kafka'],
  ) {}

  onApplicationBootstrap(): void {
    if (this.kafka.heartbeatIntervalMs === 0) {
      return;
    }
    this.timer = setInterval(() => {
      this.inFlight ??= this.beat().finally(() => (this.inFlight = null));
    }, this.kafka.heartbeatIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
    }
    await this.inFlight;
    await this.reading;
  }

  /** One heartbeat; failures are logged once per outage (the relay reports Kafka health). */
  async beat(): Promise<void> {
    // A read that hangs (PostgreSQL unreachable behind a connect timeout) must not hold the
    // heartbeat back: enforcement points would turn stale from the delay alone.
    const storeAnswered = await this.readWithin(
      Math.max(50, Math.floor(this.kafka.heartbeatIntervalMs / 2)),
    );
    const claim = this.watermark.claim(Date.now(), storeAnswered);
    if (claim === null) {
      return; // nothing known yet (PostgreSQL never answered): prove nothing
    }
    try {
      await this.publisher.publishHeartbeat({
        v: 1,
        type: 'heartbeat',
        seq: claim.seq,
        at: Math.max(Date.now(), claim.publishedThrough),
        publishedThrough: claim.publishedThrough,
        pending: claim.pending,
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

  /** Reads the outbox, waiting at most `ms`; false when PostgreSQL did not answer in time. */
  private async readWithin(ms: number): Promise<boolean> {
    this.reading ??= this.readOutbox().finally(() => (this.reading = null));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.reading, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads how far publishing has got into the watermark; false when PostgreSQL did not answer. */
  private async readOutbox(): Promise<boolean> {
    const startedAt = Date.now();
    try {
      this.watermark.observed(startedAt, await this.outbox.progress());
      if (this.storeFailing) {
        this.logger.log('outbox readable again; heartbeats report it');
        this.storeFailing = false;
      }
      return true;
    } catch (error) {
      if (!this.storeFailing) {
        this.logger.warn(
          `cannot read the outbox (${String(error)}); heartbeats go on with what the last read established`,
        );
        this.storeFailing = true;
      }
      return false;
    }
  }
}
