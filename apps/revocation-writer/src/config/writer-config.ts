import { ConfigError } from './config-error';
import type { Env } from './env-schema';
import { type KafkaSecurity, kafkaSecurity, KafkaSecurityError } from './kafka-security';

type Source = Env['WEBHOOK_SOURCES'][number];
type Employee = Env['HR_EMPLOYEE_DIRECTORY'][string];

/**
 * The validated configuration the writer runs with, grouped by the part of the writer that reads
 * it: each top-level key is a slice a class can inject alone (config-slices.ts). Derived from
 * {@link writerConfigFrom}, so the type and the mapping cannot drift apart.
 */
export type WriterConfig = ReturnType<typeof writerConfigFrom>;

/**
 * Checks what a schema of single variables cannot (settings that depend on each other, files
 * named by variables) and groups the variables into the writer's configuration. Each option is
 * documented on its variable in env-schema.ts; values computed here are documented here.
 */
export function writerConfigFrom(e: Env) {
  checkHttpTimeouts(e);
  const security = kafkaSecurityOf(e);
  const webhookSecrets = webhookSecretsOf(e);
  const employees: ReadonlyMap<string, Employee> = new Map(Object.entries(e.HR_EMPLOYEE_DIRECTORY));
  return {
    sources: {
      employees,
      kafka: {
        sources: e.KAFKA_INGEST_SOURCES,
        groupId: e.KAFKA_INGEST_GROUP_ID,
        maxWaitMs: e.KAFKA_INGEST_MAX_WAIT_MS,
        sessionTimeoutMs: e.KAFKA_INGEST_SESSION_TIMEOUT_MS,
        topics: {
          hr: e.KAFKA_TOPIC_HR_EVENTS,
          idp: e.KAFKA_TOPIC_IDP_EVENTS,
          siem: e.KAFKA_TOPIC_SIEM_EVENTS,
        },
        deadLetterTopic: e.KAFKA_DLQ_TOPIC,
      },
      /** Webhook secrets per source that accepts signed webhooks. */
      webhookSecrets,
      webhookToleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
      transmitters: e.SSF_TRANSMITTERS,
    },
    http: {
      port: e.PORT,
      host: e.HOST,
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
      retryAfterSeconds: e.RETRY_AFTER_SECONDS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      /** `0`: no socket inactivity timeout. */
      connectionTimeoutMs: e.HTTP_CONNECTION_TIMEOUT_MS,
      /**
       * How often Node looks for requests past their headers or request timeout (ms): a tenth of
       * the shorter of the two, at most one second (Node's own default is 30 s, which would let a
       * 10 s timeout fire after up to 40 s). An expired request is answered within this much after
       * its timeout.
       */
      timeoutCheckIntervalMs: Math.min(
        1000,
        Math.ceil(Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS) / 10),
      ),
    },
    logLevel: e.LOG_LEVEL,
    database: {
      url: e.DATABASE_URL,
      schema: e.DATABASE_SCHEMA,
      poolSize: e.DATABASE_POOL_SIZE,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      invalidationTopic: e.KAFKA_INVALIDATION_TOPIC,
      heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
      /** TLS and SASL options for every Kafka client of the writer. */
      security,
    },
    writePath: {
      maxBatchEvents: e.WRITE_BATCH_MAX_EVENTS,
      concurrency: e.WRITE_BATCH_CONCURRENCY,
    },
    bulk: { maxEvents: e.BULK_MAX_EVENTS, bodyLimitBytes: e.BULK_BODY_LIMIT_BYTES },
    auth: { cacheTtlMs: e.AUTH_CACHE_TTL_MS },
    snapshot: { mirrorEnabled: e.SNAPSHOT_MIRROR_ENABLED, maxAgeMs: e.SNAPSHOT_MAX_AGE_MS },
    outbox: {
      poolSize: e.OUTBOX_POOL_SIZE,
      batchSize: e.OUTBOX_BATCH_SIZE,
      pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
      maxBackoffMs: e.OUTBOX_MAX_BACKOFF_MS,
      retentionSeconds: e.OUTBOX_RETENTION_SECONDS,
    },
    idempotency: { retentionDays: e.IDEMPOTENCY_RETENTION_DAYS },
    upstream: {
      workerEnabled: e.UPSTREAM_WORKER_ENABLED,
      pollIntervalMs: e.UPSTREAM_POLL_INTERVAL_MS,
      maxAttempts: e.UPSTREAM_MAX_ATTEMPTS,
      maxBackoffMs: e.UPSTREAM_MAX_BACKOFF_MS,
    },
    ingest: {
      sharedToken: e.INGEST_BEARER_TOKEN ?? null,
      authDisabled: e.INGEST_AUTH_DISABLED,
    },
    rules: {
      /** Default longest token lifetime (ms), for rules not restricted to a configured issuer. */
      maxTokenLifetimeMs: e.MAX_TOKEN_LIFETIME_SECONDS * 1000,
      maxGrantLifetimeMs: e.MAX_GRANT_LIFETIME_SECONDS * 1000,
      customClaims: e.CUSTOM_RULE_CLAIMS,
      broadClaims: e.BROAD_RULE_CLAIMS,
      bulkConfirmThreshold: e.BULK_CONFIRM_THRESHOLD,
      pruneIntervalMs: e.PRUNE_INTERVAL_SECONDS * 1000,
    },
    issuers: e.ISSUERS,
    oauth: { opaqueTokens: e.OPAQUE_TOKENS_ENABLED },
    rateLimit: {
      perPrincipalPerMinute: e.RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE,
      perIpPerMinute: e.RATE_LIMIT_PER_IP_PER_MINUTE,
    },
    telemetry: { serviceName: e.OTEL_SERVICE_NAME },
  };
}

function checkHttpTimeouts(e: Env): void {
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'invalid configuration: HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  if (
    e.HTTP_CONNECTION_TIMEOUT_MS !== 0 &&
    e.HTTP_CONNECTION_TIMEOUT_MS <= e.HTTP_REQUEST_TIMEOUT_MS
  ) {
    throw new ConfigError(
      'invalid configuration: HTTP_CONNECTION_TIMEOUT_MS: must exceed HTTP_REQUEST_TIMEOUT_MS (or be 0), so that a stalled request gets its 408 before its connection is dropped',
    );
  }
}

function kafkaSecurityOf(e: Env): KafkaSecurity {
  try {
    return kafkaSecurity(e);
  } catch (error) {
    if (error instanceof KafkaSecurityError) {
      throw new ConfigError(`invalid configuration: ${error.message}`);
    }
    throw error;
  }
}

/** Verification is never skipped: a source listed in WEBHOOK_SOURCES must have its secret. */
function webhookSecretsOf(e: Env): Partial<Record<Source, string[]>> {
  const webhookSecrets: Partial<Record<Source, string[]>> = {};
  for (const source of e.WEBHOOK_SOURCES) {
    const name = (
      { hr: 'WEBHOOK_SECRET_HR', idp: 'WEBHOOK_SECRET_IDP', siem: 'WEBHOOK_SECRET_SIEM' } as const
    )[source];
    const secrets = e[name];
    if (!secrets) {
      throw new ConfigError(
        `invalid configuration: ${name}: required because WEBHOOK_SOURCES lists "${source}" (verification is never skipped)`,
      );
    }
    webhookSecrets[source] = secrets;
  }
  return webhookSecrets;
}
