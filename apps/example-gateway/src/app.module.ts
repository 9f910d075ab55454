import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { RevocationModule } from '@rescind/revocation-consumer/nest';
import { prometheusMetrics } from '@rescind/revocation-consumer/prometheus';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/config';
import { HealthController } from './health/health.controller';
import { GATEWAY_METRICS, MetricsController } from './metrics/metrics.controller';
import { WhoamiController } from './whoami/whoami.controller';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    const log = new Logger('Revocations');
    const { revocations } = config;
    // One call gives the consumer a meter provider that GET /metrics reads.
    const metrics = prometheusMetrics({ serviceName: 'rescind-example-gateway' });
    return {
      module: GatewayModule,
      imports: [
        RevocationModule.forRoot({
          consumer: {
            brokers: revocations.brokers,
            groupIdPrefix: 'rescind-example-gateway',
            maxWaitTimeMs: revocations.maxWaitTimeMs,
            stalenessPolicy: revocations.stalenessPolicy,
            maxStalenessMs: revocations.maxStalenessMs,
            snapshot: revocations.snapshot,
            meterProvider: metrics.meterProvider,
            logger: {
              info: (message) => log.log(message),
              warn: (message) => log.warn(message),
              error: (message) => log.error(message),
            },
          },
          // Listen at once and report readiness on /health/ready; until then requests get 503.
          awaitReady: false,
          guard: { retryAfterSeconds: revocations.retryAfterSeconds },
        }),
      ],
      controllers: [HealthController, MetricsController, WhoamiController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: GATEWAY_METRICS, useValue: metrics },
        JwtAuthGuard,
      ],
    };
  }
}
