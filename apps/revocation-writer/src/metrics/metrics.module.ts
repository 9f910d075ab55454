import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { WriterMetrics } from './writer-metrics';

/**
 * The writer's metrics. Depends on nothing of the writer: the parts that have something to
 * report hold WriterMetrics and feed it (the outbox its backlog, OutboxRelayService), so no
 * module imports back. Global, because nearly every capability counts something.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [WriterMetrics],
  exports: [WriterMetrics],
})
export class MetricsModule {}
