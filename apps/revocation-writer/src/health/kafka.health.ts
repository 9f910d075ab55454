import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KafkaPublisher } from '../outbox/kafka-publisher';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { OutboxRepository } from '../outbox/outbox.repository';

/**
 * Kafka is "up" when the writer can reach it and its last publish did not fail. The outbox
 * backlog and its age are reported either way.
 */
@Injectable()
export class KafkaHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly publisher: KafkaPublisher,
    private readonly relay: OutboxRelayService,
    private readonly outbox: OutboxRepository,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    const [reachable, backlog] = await Promise.all([
      this.publisher.probe(1500),
      this.outbox.backlog().catch(() => null),
    ]);
    const state = this.publisher.status();
    const details = {
      connected: state.connected,
      consecutiveFailures: this.relay.relay.consecutiveFailures,
      lastSuccessAt: state.lastSuccessAt ? new Date(state.lastSuccessAt).toISOString() : null,
      lastError: state.lastError,
      outboxPending: backlog?.pending ?? null,
      outboxOldestAgeMs: backlog?.oldestAgeMs ?? null,
    };
    const up = reachable && this.relay.relay.consecutiveFailures === 0;
    return up ? indicator.up(details) : indicator.down(details);
  }
}
