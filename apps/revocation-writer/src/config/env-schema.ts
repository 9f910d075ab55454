import { bool, commaList, int, json, list } from '@rescind/config-env';
import { Topics } from '@rescind/contracts';
import { z } from 'zod';
import { IssuerSchema, TransmitterSchema } from './issuers';

const claimList = commaList(
  z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'claim names are lower-case identifiers')),
);

/** Comma-separated event sources; `none` for none. */
const SourceList = commaList(z.array(z.enum(['hr', 'idp', 'siem'])), true);

/** Standard Webhooks secrets: `whsec_` + base64 key; several (comma separated) during rotation. */
const WebhookSecrets = commaList(
  z
    .array(
      z
        .string()
        .regex(
          /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/,
          'must be whsec_ followed by a base64 key of 24+ bytes',
        ),
    )
    .min(1),
);

/**
 * Every setting of the writer, read from the environment once, at start-up. Each option is
 * documented here, where its default is defined; README's configuration table mirrors it, and
 * readme-config.spec.ts checks that it does.
 */
export const EnvSchema = z.object({
  /** HTTP listen port. */
  PORT: int(0, 65535).default(3000),
  /** HTTP listen address. */
  HOST: z.string().default('0.0.0.0'),
  /** Largest request body accepted, in bytes; larger bodies get 413 before they are parsed. */
  HTTP_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  /**
   * Longest time a client may take to send one whole request, request line, headers and body
   * (ms). Past it the writer answers 408 (problem+json, code `request_timeout`) and closes the
   * connection: a client that announces more body than it sends, or trickles it, holds a socket
   * no longer than this. Node's `server.requestTimeout` (Fastify's `requestTimeout`); the time a
   * handler then takes is not counted (the database timeouts bound that).
   */
  HTTP_REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /**
   * Longest time a client may take to send the request line and headers (ms), at most
   * HTTP_REQUEST_TIMEOUT_MS: past it, 408 and the connection is closed (slow-header clients).
   * Node's `server.headersTimeout`.
   */
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /**
   * How long an idle keep-alive connection stays open after an answer (ms). Keep it above the
   * idle timeout of any load balancer or proxy in front of the writer (60 s for many), or the
   * proxy may send a request on a connection the writer is closing. Node's
   * `server.keepAliveTimeout` (Fastify's `keepAliveTimeout`, whose default this is).
   */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 3_600_000).default(72_000),
  /**
   * A connection on which nothing is received or sent for this long is closed without an answer
   * (ms), whatever it is doing: above all a client that stops reading a streamed answer (snapshot,
   * audit export), which would otherwise hold its database connection for ever. Above
   * HTTP_REQUEST_TIMEOUT_MS, or `0` to turn it off. Node's `server.timeout` (Fastify's
   * `connectionTimeout`).
   */
  HTTP_CONNECTION_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** PostgreSQL connection URL. */
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/rescind'),
  /** Schema holding Rescind's tables (created if missing). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  /** Connection pool size. */
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  /** How long a request waits for a connection before it is refused with 503 (ms). */
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 60_000).default(3000),
  /** Statement timeout for the writer's queries (ms). */
  DATABASE_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /**
   * PostgreSQL ends a session of the writer that stays idle inside a transaction this long (ms),
   * which releases its locks: a writer cut off mid-transaction (its host gone, a network
   * partition) would otherwise keep the relay's lock, and with it every other writer's relay
   * from publishing, until TCP gives up (hours). Only the relay waits inside a transaction, on
   * Kafka's acknowledgement; a send that outlasts this is rolled back and sent again.
   */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(1000, 3_600_000).default(60_000),

  /** Kafka bootstrap servers, comma separated. */
  KAFKA_BROKERS: list.default(['127.0.0.1:9092']),
  /** Kafka client id of the writer. */
  KAFKA_CLIENT_ID: z.string().min(1).default('rescind-writer'),
  /** Topic the outbox relay publishes rule changes to. */
  KAFKA_INVALIDATION_TOPIC: z.string().min(1).default(Topics.invalidations),
  /** Connect to the brokers over TLS. */
  KAFKA_SSL: bool.default(false),
  /** PEM file of the CA certificates that sign the brokers' (default: Node's trusted CAs). */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** PEM files of the writer's client certificate and key, for mutual TLS. */
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional(),
  /** Verify the brokers' certificates (`false` only for a test cluster with self-signed ones). */
  KAFKA_SSL_REJECT_UNAUTHORIZED: bool.default(true),
  /** SASL authentication: `plain` (only over TLS), `scram-sha-256` or `scram-sha-512`. */
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  /** The SASL password, or (better) a file holding it, e.g. a mounted secret. */
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD_FILE: z.string().min(1).optional(),

  /**
   * How often a heartbeat goes to every partition of the invalidation topic (ms; 0 = never).
   * Enforcement points judge their freshness by it: keep it well below their maxStalenessMs.
   */
  HEARTBEAT_INTERVAL_MS: int(0, 60_000).default(1000),
  /**
   * Most events one write transaction takes: concurrent HTTP events that share a commit (group
   * commit), one fetch of an input topic, one part of a bulk request.
   */
  WRITE_BATCH_MAX_EVENTS: int(1, 5000).default(500),
  /**
   * Write transactions of the group commit in flight at once: while they run, new events wait
   * and then share the next one. 1 serialises every write of this writer.
   */
  WRITE_BATCH_CONCURRENCY: int(1, 16).default(2),
  /** Events one `POST /v1/events/{source}/bulk` may carry. */
  BULK_MAX_EVENTS: int(1, 10_000).default(1000),
  /** Largest bulk request body (bytes); the other endpoints keep HTTP_BODY_LIMIT_BYTES. */
  BULK_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  /**
   * How long an API credential or OAuth client read from PostgreSQL is trusted (ms; 0 = read it
   * on every request). Disabling or rotating one takes effect on other writers within this bound
   * (at once on the writer that did it).
   */
  AUTH_CACHE_TTL_MS: int(0, 60_000).default(5000),
  /**
   * PostgreSQL connections of the outbox relay and the heartbeat, apart from the request pool
   * (DATABASE_POOL_SIZE), so that a backlog of requests never delays publishing.
   */
  OUTBOX_POOL_SIZE: int(1, 20).default(2),
  /**
   * Keep a deny-list mirror (the consumer library on the invalidation topic) to serve binary
   * snapshots from (`Accept: application/vnd.rescind.deny-list`). Off: NDJSON from PostgreSQL only.
   */
  SNAPSHOT_MIRROR_ENABLED: bool.default(true),
  /** A binary snapshot is encoded again once it is older than this (ms); requests share it. */
  SNAPSHOT_MAX_AGE_MS: int(0, 600_000).default(5000),
  /** Outbox rows published per Kafka request. */
  OUTBOX_BATCH_SIZE: int(1, 10_000).default(500),
  /** Fallback poll interval when no NOTIFY arrives (ms). */
  OUTBOX_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
  /** Upper bound of the relay's exponential back-off while Kafka is unreachable (ms). */
  OUTBOX_MAX_BACKOFF_MS: int(10, 300_000).default(30_000),
  /**
   * Make the calls grant-wide revocations owe identity providers (their global token revocation
   * endpoints). Off: the calls wait in the table until a writer with it on makes them.
   */
  UPSTREAM_WORKER_ENABLED: bool.default(true),
  /** How often the upstream worker looks for due calls when it found none (ms). */
  UPSTREAM_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
  /** Tries of one upstream call before it is failed (audited as `upstream.failed`). */
  UPSTREAM_MAX_ATTEMPTS: int(1, 1000).default(20),
  /** Cap of the back-off between tries of one upstream call (ms). */
  UPSTREAM_MAX_BACKOFF_MS: int(100, 3_600_000).default(300_000),
  /** How long published outbox rows are kept before they are deleted (seconds). */
  OUTBOX_RETENTION_SECONDS: int(0, 30 * 86_400).default(86_400),
  /**
   * How long idempotency records (one per event id or Idempotency-Key) are kept before they are
   * purged (days). A source that replays an event id later than this has it processed again, so
   * keep it well above how long any source may retry.
   */
  IDEMPOTENCY_RETENTION_DAYS: int(1, 3650).default(30),

  /**
   * Optional shared bearer token for HR systems that can neither sign webhooks nor hold an API
   * credential: it stands for the `hr` role. At least 32 characters. Prefer API credentials.
   */
  INGEST_BEARER_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Lets unauthenticated requests act as the `hr` role on the ingest endpoints. Local
   * experiments only; never in production.
   */
  INGEST_AUTH_DISABLED: bool.default(false),

  /**
   * Longest lifetime of any token enforcement points check (seconds). A `sub` rule expires this
   * long after its `revokedBefore`, when every token it can match has expired anyway.
   */
  MAX_TOKEN_LIFETIME_SECONDS: int(60, 400 * 86_400).default(86_400),
  /**
   * Longest absolute lifetime of a session or refresh-token grant of issuers not listed in
   * `ISSUERS` (seconds): how long a subject-wide revocation must keep rejecting what earlier
   * grants can still mint.
   */
  MAX_GRANT_LIFETIME_SECONDS: int(60, 400 * 86_400).default(14 * 86_400),

  /**
   * Token issuers Rescind trusts, as a JSON array: `[{"issuer": "...", "jwksUri": "...",
   * "maxTokenLifetimeSeconds": 3600}]`. Their keys verify tokens presented to RFC 7009
   * revocation and RFC 7662 introspection; their lifetimes give rules their expiry.
   */
  ISSUERS: json(z.array(IssuerSchema)).default([]),
  /** Extra token claims rules may match, comma separated (e.g. `device_id,tenant,email`). */
  CUSTOM_RULE_CLAIMS: claimList.default([]),
  /**
   * Claims whose rules can hit many users at once. Revoking on them needs `confirm: true` and
   * a role allowed broad scopes (admin).
   */
  BROAD_RULE_CLAIMS: claimList.default(['iss', 'kid', 'tenant']),
  /** More rules than this in one operator request need `confirm: true` and the admin role. */
  BULK_CONFIRM_THRESHOLD: int(1, 100_000).default(100),
  /**
   * Accept non-JWT (opaque) tokens at RFC 7009 revocation: they are revoked by their SHA-256
   * (a `token_hash` rule). Off: such tokens get `unsupported_token_type`.
   */
  OPAQUE_TOKENS_ENABLED: bool.default(false),
  /** How often expired rules are marked expired and their removal published (seconds). */
  PRUNE_INTERVAL_SECONDS: int(1, 86_400).default(60),
  /** Requests per minute allowed per authenticated principal. */
  RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: int(1, 1_000_000).default(1200),
  /** Requests per minute allowed per client IP address. */
  RATE_LIMIT_PER_IP_PER_MINUTE: int(1, 1_000_000).default(600),

  /**
   * HR directory for events that name an employee id instead of a subject, as JSON:
   * `{"E-1001": {"subject": "248289761001", "iss": "https://idp.example.com"}}`.
   */
  HR_EMPLOYEE_DIRECTORY: json(
    z.record(
      z.string(),
      z.object({ subject: z.string().min(1), iss: z.string().min(1).optional() }),
    ),
  ).default({}),
  /** Sources whose events are consumed from Kafka input topics (comma separated, or `none`). */
  KAFKA_INGEST_SOURCES: SourceList.default(['hr', 'idp', 'siem']),
  /** Consumer group of the writer on the input topics (shared by all writer instances). */
  KAFKA_INGEST_GROUP_ID: z.string().min(1).default('rescind-writer'),
  /**
   * Longest wait of an idle fetch on the input topics (ms). Kafka answers as soon as a message
   * arrives; this only bounds idle polling (and the latency on brokers that do not wake fetches).
   */
  KAFKA_INGEST_MAX_WAIT_MS: int(10, 30_000).default(1000),
  /**
   * Consumer-group session timeout of the writer on the input topics (ms): how long the group
   * waits for a writer that stopped without leaving (killed, hung, cut off) before its partitions
   * move to the others. Their uncommitted messages are then redelivered, which idempotency
   * absorbs. The broker bounds it (group.min/max.session.timeout.ms, 6 s to 30 min by default).
   */
  KAFKA_INGEST_SESSION_TIMEOUT_MS: int(6000, 1_800_000).default(30_000),
  KAFKA_TOPIC_HR_EVENTS: z.string().min(1).default(Topics.hrEvents),
  KAFKA_TOPIC_IDP_EVENTS: z.string().min(1).default(Topics.idpEvents),
  KAFKA_TOPIC_SIEM_EVENTS: z.string().min(1).default(Topics.siemEvents),
  /** Where input messages that can never be processed go, with the reason in headers. */
  KAFKA_DLQ_TOPIC: z.string().min(1).default(Topics.deadLetter),
  /**
   * Sources that may sign webhooks (Standard Webhooks). Each one listed needs its
   * WEBHOOK_SECRET_<SOURCE>; a missing secret stops the writer at start-up.
   */
  WEBHOOK_SOURCES: SourceList.default([]),
  WEBHOOK_SECRET_HR: WebhookSecrets.optional(),
  WEBHOOK_SECRET_IDP: WebhookSecrets.optional(),
  WEBHOOK_SECRET_SIEM: WebhookSecrets.optional(),
  /** Accepted distance of `webhook-timestamp` from now, past and future (seconds). */
  WEBHOOK_TOLERANCE_SECONDS: int(10, 3600).default(300),
  /**
   * OpenID Shared Signals transmitters whose SETs are accepted at POST /ssf/events (RFC 8935
   * push), as JSON: `[{"issuer": "...", "audience": "...", "jwksUri": "..."}]`. Keys come only
   * from here. An entry with `"poll": {"endpoint": "...", ...}` is also polled (RFC 8936; see
   * PollSchema in issuers.ts for its options and defaults).
   */
  SSF_TRANSMITTERS: json(z.array(TransmitterSchema)).default([]),

  /** Retry-After (seconds) sent with 503 answers. */
  RETRY_AFTER_SECONDS: int(1, 3600).default(5),

  /** Service name for traces. Exporters follow the standard OTEL_* variables (none by default). */
  OTEL_SERVICE_NAME: z.string().min(1).default('rescind-writer'),
});

/** The environment once validated, defaults applied. */
export type Env = z.infer<typeof EnvSchema>;
