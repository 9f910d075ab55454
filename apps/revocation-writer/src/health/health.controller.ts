import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { ALL_THROTTLERS } from '../http/rate-limit';
import type { FastifyReply } from 'fastify';
import {
  type HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';

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
