import type { MeterProvider } from '@opentelemetry/api';
import { Topics } from '@rescind/contracts';
import type { KafkaConfig } from 'kafkajs';
import type { StalenessPolicy } from './freshness';
import type { SnapshotSource } from './snapshot';

/**
 * Where the consumer reports what it does; defaults to silence. Compatible with pino and console.
 *
 * @example
 * const logger: ConsumerLogger = console;
 */
export interface ConsumerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Options of {@link createRevocationConsumer}.
 *
 * @example
 * const options: RevocationConsumerOptions = {
 *   brokers: ['kafka:9092'],
 *   snapshot: { url: 'http://rescind:3000/v1/deny-list/snapshot', token: process.env.RESCIND_TOKEN! },
 *   stalenessPolicy: 'fail-closed',
 * };
 */
export interface RevocationConsumerOptions {
  /** Kafka bootstrap servers. */
  brokers: string[];
  /** Invalidation topic. Default `revocation.invalidations.v1`. */
  topic?: string;
  /**
   * Load the current deny-list from the writer at start-up, then follow the topic from the
   * offsets pinned just before. Without it, the topic is read from its beginning (it is
   * compacted, so it holds the latest version of every rule).
   */
  snapshot?: SnapshotSource;
  /** What `check` does while the list may be out of date. Default `fail-closed`. */
  stalenessPolicy?: StalenessPolicy;
  /**
   * The staleness bound (ms): the list is stale while a revocation the writer acknowledged longer
   * ago than this may not be applied here. Judged from the writer's heartbeats on every
   * partition: each says, with the writer's own clock, up to when everything acknowledged is on
   * the topic ahead of it. So heartbeats that stop, an outbox that does not publish, and a
   * restart (stale until the first heartbeat) all count. Clock skew between this host and the
   * writer counts into it (ahead: stale sooner; behind: see `status().writerClockAheadMs`).
   * Default 5000; keep it several times the writer's HEARTBEAT_INTERVAL_MS.
   */
  maxStalenessMs?: number;
  /** Kafka client id. Default `rescind-consumer`. */
  clientId?: string;
  /**
   * Prefix of the consumer group id. Every instance appends a unique suffix: each enforcement
   * point must see every event, so instances never share a group. Default `rescind-consumer`.
   */
  groupIdPrefix?: string;
  /** Extra kafkajs client settings (ssl, sasl, connectionTimeout, ...). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
  /** Consumer group session timeout (ms). Default 10000. */
  sessionTimeoutMs?: number;
  /** Consumer group heartbeat interval (ms). Default 1000. */
  heartbeatIntervalMs?: number;
  /**
   * Longest time a fetch waits for new events (ms). Apache Kafka answers a waiting fetch as soon
   * as an event arrives, so this bounds idle polling, not latency (measured in BENCHMARKS.md:
   * the same p50 with 100 and 1000). Default 1000.
   */
  maxWaitTimeMs?: number;
  /** How often rules whose tokens have all expired are dropped (ms). Default 60000. */
  pruneIntervalMs?: number;
  /**
   * Keep a copy of the list on disk: written atomically every `persistIntervalMs` and on stop,
   * so an enforcement point can restart while the writer is down. On start it is used, and the
   * topic read from where it was saved, when there is no `snapshot` or the snapshot cannot be
   * loaded (a snapshot is always the fresher state). A corrupt or foreign file is ignored with
   * a warning, never trusted.
   */
  persistPath?: string;
  /** How often the list is saved to `persistPath` (ms). Default 30000. */
  persistIntervalMs?: number;
  logger?: ConsumerLogger;
  /**
   * Where the consumer's metrics go. Default: the global meter provider (`metrics` of
   * `@opentelemetry/api`), taken when the consumer is created.
   */
  meterProvider?: MeterProvider;
}

/** The options with every default applied (the defaults are documented on the options above). */
export type ConsumerSettings = Required<
  Omit<RevocationConsumerOptions, 'snapshot' | 'kafka' | 'persistPath' | 'meterProvider'>
> &
  Pick<RevocationConsumerOptions, 'snapshot' | 'kafka' | 'persistPath' | 'meterProvider'>;

const silent: ConsumerLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Applies the defaults, once, so no other part of the consumer repeats them. */
export function consumerSettings(options: RevocationConsumerOptions): ConsumerSettings {
  return {
    ...options,
    topic: options.topic ?? Topics.invalidations,
    stalenessPolicy: options.stalenessPolicy ?? 'fail-closed',
    maxStalenessMs: options.maxStalenessMs ?? 5000,
    clientId: options.clientId ?? 'rescind-consumer',
    groupIdPrefix: options.groupIdPrefix ?? 'rescind-consumer',
    sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1000,
    pruneIntervalMs: options.pruneIntervalMs ?? 60_000,
    persistIntervalMs: options.persistIntervalMs ?? 30_000,
    logger: options.logger ?? silent,
  };
}
