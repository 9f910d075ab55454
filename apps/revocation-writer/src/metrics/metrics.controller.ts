import { Controller, Get, Header } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { ALL_THROTTLERS } from '../http/rate-limit';
import { WriterMetrics } from './writer-metrics';

/** Prometheus scrape endpoint. Expose it on an internal network only: it is not authenticated. */
@Controller('metrics')
@SkipThrottle(ALL_THROTTLERS)
export class MetricsController {
  constructor(private readonly metrics: WriterMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
