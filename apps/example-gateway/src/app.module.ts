import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { RevocationModule } from '@rescind/revocation-consumer/nest';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/config';
import { HealthController } from './health/health.controller';
import { WhoamiController } from './whoami/whoami.controller';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    const log = new Logger('Revocations');
    const { revocations } = config;
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
      controllers: [HealthController, WhoamiController],
      providers: [{ provide: GATEWAY_CONFIG, useValue: config }, JwtAuthGuard],
    };
  }
}
