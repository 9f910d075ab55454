import { type DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { configSliceProviders, type WriterConfig } from './config/config';
import { dataSourceOptions } from './database/data-source';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { traceFields } from './telemetry/log-trace';
import { RateLimitGuard, rateLimitOptions } from './http/rate-limit';
import { isHealthProbe, requestLogFields, responseLogFields } from './http/request-log';
import { AuditModule } from './audit/audit.module';
import { IngestModule } from './ingest/ingest.module';
import { OAuthModule } from './oauth/oauth.module';
import { RevocationsModule } from './revocations/revocations.module';
import { SnapshotModule } from './snapshot/snapshot.module';
import { SsfModule } from './ssf/ssf.module';
import { guardPoolClients } from './database/pool-errors';

/** Hands each section of the validated configuration to every module (`@InjectConfig`). */
@Global()
@Module({})
class ConfigModule {
  static register(config: WriterConfig): DynamicModule {
    const slices = configSliceProviders(config);
    return {
      module: ConfigModule,
      providers: slices,
      exports: slices.map((slice) => slice.provide),
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: WriterConfig): DynamicModule {
    return {
      module: AppModule,
      providers: [
        { provide: APP_GUARD, useClass: RateLimitGuard },
        {
          // Every connection of the request pool keeps an error listener (database/pool-errors.ts).
          provide: 'rescind.pool-errors',
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            guardPoolClients(dataSource, new Logger('PostgreSQL')),
        },
      ],
      imports: [
        ThrottlerModule.forRoot(rateLimitOptions(config)),
        ConfigModule.register(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // Tokens and secrets never reach the log: only allow-listed request fields are logged.
            serializers: { req: requestLogFields, res: responseLogFields },
            autoLogging: { ignore: isHealthProbe },
            // req.id is Fastify's (requestIdOf in bootstrap.ts): the caller's X-Request-Id or a UUID.
            mixin: traceFields,
          },
        }),
        TypeOrmModule.forRoot({
          ...dataSourceOptions(config.database),
          retryAttempts: 3,
          retryDelay: 1000,
        }),
        AuthModule,
        MetricsModule,
        IngestModule,
        RevocationsModule,
        AuditModule,
        OAuthModule,
        SsfModule,
        SnapshotModule,
        HealthModule,
      ],
    };
  }
}
