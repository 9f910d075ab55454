import type { JSONWebKeySet } from 'jose';
import { asymmetricJwsAlgorithm, int, json, list, parseEnv } from '@rescind/config-env';
import { z } from 'zod';

/**
 * Every setting of the example gateway, read from the environment once, at start-up. Each
 * option is documented here, where its default is defined; README's table in "The example
 * gateway" mirrors it, and readme-config.spec.ts checks that it does.
 */
export const EnvSchema = z
  .object({
    /** HTTP listen port. */
    GATEWAY_PORT: int(0, 65535).default(8080),
    /** HTTP listen address. */
    GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
    /** Nest log level; `info` logs every deny-list change. */
    LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),

    /** Kafka bootstrap servers of the invalidation topic, comma separated. */
    KAFKA_BROKERS: list.default(['127.0.0.1:9092']),
    /**
     * Longest wait of an idle fetch (ms). Apache Kafka answers a waiting fetch as soon as an
     * event arrives, so this bounds idle polling, not latency.
     */
    KAFKA_MAX_WAIT_MS: int(10, 60_000).default(1000),

    /** Where the token issuer publishes its signing keys (fetched, cached, refreshed by jose). */
    JWKS_URI: z.url({ protocol: /^https?$/ }).optional(),
    /** Or the JWK Set itself, as JSON. Exactly one of JWKS_URI and JWKS. */
    JWKS: json(
      z.object({
        keys: z.array(z.looseObject({ kty: z.string().min(1) })).min(1),
      }),
    ).optional(),
    /** The `iss` every accepted token must carry. */
    ISSUER: z.string().min(1),
    /** The `aud` every accepted token must contain; unset: not checked. */
    AUDIENCE: z.string().min(1).optional(),
    /** Accepted JWS algorithms, comma separated. */
    JWT_ALGORITHMS: list
      .pipe(z.array(asymmetricJwsAlgorithm))
      .default(['RS256', 'PS256', 'ES256', 'EdDSA']),

    /**
     * The writer's deny-list snapshot (`…/v1/deny-list/snapshot`), loaded at start-up; the topic
     * is then followed from where the snapshot was taken. Unset: the topic is read from its
     * beginning. Needs RESCIND_TOKEN.
     */
    RESCIND_SNAPSHOT_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** API credential of the `reader` role for the snapshot (`rsk_…`). */
    RESCIND_TOKEN: z.string().min(1).optional(),
    /**
     * What to do while the deny-list may be out of date: `fail-closed` answers 503; `fail-open`
     * lets through whatever the list does not revoke, even before any list was loaded;
     * `keep-last` serves the last list loaded (snapshot, saved list or topic) and answers 503
     * while none was ever loaded. Revoked tokens are refused under every policy.
     */
    STALENESS_POLICY: z.enum(['fail-closed', 'fail-open', 'keep-last']).default('fail-closed'),
    /**
     * The staleness bound (ms): the list counts as stale while a revocation the writer
     * acknowledged longer ago than this may not be applied yet, as the writer's heartbeats tell
     * (silent heartbeats, a stuck outbox, and a restart before the first heartbeat all count).
     * Keep it several times the writer's HEARTBEAT_INTERVAL_MS, and the clocks in sync (NTP).
     * Also sets `Retry-After` on 503.
     */
    MAX_STALENESS_MS: int(100, 3_600_000).default(5000),
  })
  .superRefine((e, ctx) => {
    if ((e.JWKS_URI === undefined) === (e.JWKS === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWKS_URI'],
        message: 'give exactly one of JWKS_URI or JWKS',
      });
    }
    if ((e.RESCIND_SNAPSHOT_URL === undefined) !== (e.RESCIND_TOKEN === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['RESCIND_TOKEN'],
        message: 'RESCIND_SNAPSHOT_URL and RESCIND_TOKEN go together',
      });
    }
  });

/** Where the token issuer's signing keys come from: its JWKS URL, or the JWK Set itself. */
type JwtKeys = { jwksUri: URL } | { jwks: JSONWebKeySet };

/** The validated configuration of the gateway, derived from {@link loadGatewayConfig}. */
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

/** Injection token of the {@link GatewayConfig}. */
export const GATEWAY_CONFIG = 'GATEWAY_CONFIG';

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** Validates the environment; the error names each offending variable, never its value. */
export function loadGatewayConfig(env: Record<string, string | undefined>) {
  const e = parseEnv(EnvSchema, env, GatewayConfigError);
  const keys: JwtKeys =
    e.JWKS_URI !== undefined
      ? { jwksUri: new URL(e.JWKS_URI) }
      : // Shape checked above; jose checks each key when it imports it.
        { jwks: e.JWKS as JSONWebKeySet };
  return {
    http: { port: e.GATEWAY_PORT, host: e.GATEWAY_HOST },
    logLevel: e.LOG_LEVEL,
    jwt: {
      issuer: e.ISSUER,
      audience: e.AUDIENCE,
      algorithms: e.JWT_ALGORITHMS,
      keys,
    },
    revocations: {
      brokers: e.KAFKA_BROKERS,
      maxWaitTimeMs: e.KAFKA_MAX_WAIT_MS,
      stalenessPolicy: e.STALENESS_POLICY,
      maxStalenessMs: e.MAX_STALENESS_MS,
      snapshot:
        e.RESCIND_SNAPSHOT_URL !== undefined && e.RESCIND_TOKEN !== undefined
          ? { url: e.RESCIND_SNAPSHOT_URL, token: e.RESCIND_TOKEN }
          : undefined,
      /** Retry-After (s) on 503: about when a stale list could be fresh again. */
      retryAfterSeconds: Math.max(1, Math.ceil(e.MAX_STALENESS_MS / 1000)),
    },
  };
}
