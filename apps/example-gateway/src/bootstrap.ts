import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { RevocationConsumer } from '@rescind/revocation-consumer';
import { REVOCATION_CONSUMER } from '@rescind/revocation-consumer/nest';
import { GatewayModule } from './app.module';
import type { GatewayConfig } from './config/config';

const LOG_LEVELS: Record<GatewayConfig['logLevel'], LogLevel[] | false> = {
  silent: false,
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/**
 * Builds the gateway (Nest on Fastify). `listen()` starts the revocation consumer; the port
 * opens before the deny-list is loaded, and /health/ready says when it is. Used by `main.ts`
 * and by the tests.
 */
export async function createGatewayApp(config: GatewayConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.forRoot(config),
    new FastifyAdapter({ return503OnClosing: true }),
    { logger: LOG_LEVELS[config.logLevel], abortOnError: false },
  );
  const log = new Logger('Revocations');
  app
    .get<RevocationConsumer>(REVOCATION_CONSUMER)
    .on('rule', ({ rule, latencyMs }) =>
      log.log(`deny-list updated: ${rule.key} (seq ${rule.seq}, ${latencyMs} ms after commit)`),
    );
  return app;
}
