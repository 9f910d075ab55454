import { Controller, Get, Inject, type OnApplicationShutdown, Res } from '@nestjs/common';
import type { PrometheusMetrics } from '@rescind/revocation-consumer/prometheus';
import type { FastifyReply } from 'fastify';

export const GATEWAY_METRICS = 'GATEWAY_METRICS';

/**
 * GET /metrics for Prometheus: the embedded consumer's metrics (staleness, lag, decisions by
 * outcome, propagation latency), `target_info`, the process and the runtime. Not
 * authenticated: serve it on an internal network only, as the writer's.
 */
@Controller('metrics')
export class MetricsController implements OnApplicationShutdown {
  constructor(@Inject(GATEWAY_METRICS) private readonly metrics: PrometheusMetrics) {}

  @Get()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.scrape();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.shutdown();
  }
}
