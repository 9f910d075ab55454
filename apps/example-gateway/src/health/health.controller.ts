import { Controller, Get, Inject, Res } from '@nestjs/common';
import { type ConsumerStatus, RevocationConsumer } from '@rescind/revocation-consumer';
import { InjectRevocationConsumer } from '@rescind/revocation-consumer/nest';
import type { FastifyReply } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config';
import { problem } from '../http/problem';

@Controller('health')
export class HealthController {
  constructor(
    @InjectRevocationConsumer() private readonly revocations: RevocationConsumer,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * Ready to take traffic: the deny-list is loaded and caught up. Under `fail-closed` a stale
   * list counts as not ready too: the instance would answer 503 to every request, so the load
   * balancer should prefer another one.
   */
  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): { status: 'ready' } {
    const { ready, stale, policy } = this.revocations.status();
    if (!ready || (stale && policy === 'fail-closed')) {
      throw problem(
        reply,
        503,
        ready ? 'revocation_list_stale' : 'revocation_list_not_ready',
        ready ? 'the revocation list is out of date' : 'the revocation list is not loaded yet',
        { 'retry-after': String(this.config.revocations.retryAfterSeconds) },
      );
    }
    return { status: 'ready' };
  }

  /** What the embedded consumer knows: rules, last seq, heartbeat ages, decisions. */
  @Get('revocations')
  status(): ConsumerStatus {
    return this.revocations.status();
  }
}
