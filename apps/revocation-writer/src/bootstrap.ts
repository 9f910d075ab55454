import { NestFactory } from '@nestjs/core';
import type { CustomStrategy } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { echoRequestId, requestIdOf } from './http/request-id';
import { countRequests } from './http/request-metrics';
import { WriterMetrics } from './metrics/writer-metrics';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { WriterConfig } from './config/config';
import { runMigrations } from './database/data-source';
import {
  answerClientError,
  answerExpectation,
  frameworkErrorHandler,
  refuseWhileClosing,
  requireHostHeader,
} from './http/client-errors';
import { ProblemDetailsFilter } from './http/problem-details';
import { NDJSON } from './ingest/bulk-events.controller';
import { KafkaIngestServer } from './ingest/kafka-ingest.server';

/**
 * Builds the writer: migrations first, then the Nest application on Fastify with the input
 * topics as a connected microservice, initialized and consuming (HTTP listens when the caller
 * says so). Used by `main.ts` and by the tests, which boot the real thing; `app.close()` stops
 * both.
 */
export async function createWriterApp(config: WriterConfig): Promise<NestFastifyApplication> {
  await runMigrations(config.database);

  const { http } = config;
  const adapter = new FastifyAdapter({
    // Oversized bodies are refused (413) from Content-Length, before any parsing.
    bodyLimit: http.bodyLimitBytes,
    // refuseWhileClosing answers those requests instead, as problem+json.
    return503OnClosing: false,
    // Slow or short requests and idle connections are bounded (config.ts documents each one).
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionTimeout: http.connectionTimeoutMs,
    http: {
      requestTimeout: http.requestTimeoutMs,
      headersTimeout: http.headersTimeoutMs,
      connectionsCheckingInterval: http.timeoutCheckIntervalMs,
      // Checked by requireHostHeader below instead, to answer problem+json.
      requireHostHeader: false,
    },
    // What Node and Fastify refuse before any handler runs is problem+json too.
    clientErrorHandler: answerClientError,
    // The caller's X-Request-Id when plausible, else a UUID; echoed in every answer.
    requestIdHeader: false,
    genReqId: requestIdOf,
    frameworkErrors: frameworkErrorHandler(http.retryAfterSeconds),
  });
  echoRequestId(adapter.getInstance());
  adapter.getInstance().addHook('onRequest', requireHostHeader(http.retryAfterSeconds));
  // Bulk event requests may be larger than any other body (BULK_BODY_LIMIT_BYTES).
  adapter.getInstance().addHook('onRoute', (route) => {
    if (route.url.endsWith('/bulk')) {
      route.bodyLimit = config.bulk.bodyLimitBytes;
    }
  });
  refuseWhileClosing(adapter.getInstance(), http.retryAfterSeconds);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    // Webhook signatures are verified over the exact bytes received.
    rawBody: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  countRequests(adapter.getInstance(), app.get(WriterMetrics));
  app.getHttpServer().on('checkExpectation', answerExpectation);
  // Bulk events as NDJSON: kept as text, split into events by BulkEventsController.
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser(NDJSON, { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
  // RFC 8935: Shared Signals pushes the SET itself as the body; keep it as text.
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser(
      'application/secevent+jwt',
      { parseAs: 'string' },
      (_request, body, done) => done(null, body),
    );
  app.useGlobalFilters(new ProblemDetailsFilter(http.retryAfterSeconds));
  app.enableShutdownHooks();
  // The input topics (docs/adr/0002). With an ApplicationConfig of their own (no
  // inheritAppConfig): the HTTP app's global guard (rate limit) and filter (problem details)
  // never see a Kafka record.
  app.connectMicroservice<CustomStrategy>(
    { strategy: app.get(KafkaIngestServer) },
    { inheritAppConfig: false },
  );
  await app.init();
  // Resolves at once; the server connects in the background (the writer starts without Kafka).
  await app.startAllMicroservices();
  return app;
}
