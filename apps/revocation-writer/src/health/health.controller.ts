import { Controller, Get, Injectable, Res, ServiceUnavailableException } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { ALL_THROTTLERS } from '../http/rate-limit';
import type { FastifyReply } from 'fastify';
import {
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { KafkaPublisher } from '../outbox/kafka-publisher';
import { OutboxRelayService } from '../outbox/outbox.module';
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

@Controller('health')
// Orchestrators probe often; health answers are cheap and reveal nothing.
@SkipThrottle(ALL_THROTTLERS)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
  ) {}

  /** Process is alive. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Can accept revocations: PostgreSQL answers (Kafka may be down; the outbox holds). */
  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [() => this.database.pingCheck('database', { timeout: 1500 })]);
  }

  /** Everything: PostgreSQL and Kafka publishing, with the outbox backlog. 503 if any is down. */
  @Get()
  all(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [
      () => this.database.pingCheck('database', { timeout: 1500 }),
      () => this.kafka.check('kafka'),
    ]);
  }

  /** Terminus result as the body, with 503 when something is down (not a problem document). */
  private async run(
    reply: FastifyReply,
    checks: Parameters<HealthCheckService['check']>[0],
  ): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        void reply.status(503);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }
}
