/**
 * Default Kafka topic names. Every one of them can be overridden in configuration;
 * these constants are the names used when nothing else is configured.
 */
export const Topics = {
  /** Rule changes published by the writer's outbox relay; key = rule key. */
  invalidations: 'revocation.invalidations.v1',
  /** Input events that can never be processed, with the reason in headers. */
  deadLetter: 'revocation.dlq.v1',
  /** HR system events (offboarding, suspension). */
  hrEvents: 'hr.events.v1',
  /** Identity-provider events (logout, password change, client deletion). */
  idpEvents: 'idp.events.v1',
  /** SIEM / SOAR events (credential or key compromise). */
  siemEvents: 'siem.events.v1',
} as const;

/** Which topic of the project a {@link TopicSpec} describes. */
export type TopicRole = keyof typeof Topics;

/**
 * A topic as the project needs it: its partition count and the configs it must be created with.
 * Tests, the demo, the development broker and the docker-compose stack all create topics from
 * these specs (the writer's `topics ensure` command), so they all run the same topics.
 */
export interface TopicSpec {
  role: TopicRole;
  name: string;
  partitions: number;
  configs: Readonly<Record<string, string>>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The invalidation topic's configs, each chosen on purpose:
 * - `cleanup.policy=compact`: a consumer that rebuilds its deny-list from the topic alone needs
 *   the latest version of every rule, not a time window. Every record has a key (rule key;
 *   heartbeats `heartbeat:<partition>`): Kafka refuses keyless records on a compacted topic.
 * - Pruned rules are written as tombstones (null value), so compaction can drop the key; a
 *   reinstated rule stays a `rule.removed` value until it is pruned, so no consumer can miss a
 *   reinstatement through compaction. `delete.retention.ms` (1 day) is how long a tombstone
 *   stays readable; missing one is harmless, because a tombstone only ever removes a rule that
 *   has expired, which every consumer also prunes by its own clock.
 * - `min.compaction.lag.ms` (15 min): recent history stays whole, so an operator reading the
 *   topic during an incident sees every change of the last minutes.
 * - `segment.ms` (6 h) and `max.compaction.lag.ms` (1 day): compaction never touches the active
 *   segment, so segments roll often enough that superseded rules and heartbeats are compacted
 *   within a day instead of after the 7-day default roll.
 * - `segment.bytes` (64 MiB): bounds what one cleaning pass reads.
 */
const INVALIDATION_CONFIGS = {
  'cleanup.policy': 'compact',
  'min.compaction.lag.ms': String(15 * 60_000),
  'max.compaction.lag.ms': String(DAY),
  'delete.retention.ms': String(DAY),
  'segment.ms': String(6 * HOUR),
  'segment.bytes': String(64 * 1024 * 1024),
};

/** Input topics keep a week: long enough to replay after an outage of the writer. */
const INPUT_CONFIGS = { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY) };

/**
 * Every topic of the project with its partitions and configs, under the given names (defaults:
 * {@link Topics}). Tests pass names of their own to isolate themselves on a shared broker, and
 * may override configs (small segments to watch compaction happen).
 *
 * @example
 * const specs = topicSpecs({ invalidations: 'it.invalidations.abc' });
 */
export function topicSpecs(
  names: Partial<Record<TopicRole, string>> = {},
  overrides: Partial<Record<TopicRole, Record<string, string>>> = {},
): TopicSpec[] {
  const spec = (role: TopicRole, partitions: number, configs: Record<string, string>) => ({
    role,
    name: names[role] ?? Topics[role],
    partitions,
    configs: { ...configs, ...overrides[role] },
  });
  return [
    spec('invalidations', 6, INVALIDATION_CONFIGS),
    // One partition: operators read dead letters in the order they happened. Kept 30 days for
    // investigation and replay.
    spec('deadLetter', 1, { 'cleanup.policy': 'delete', 'retention.ms': String(30 * DAY) }),
    spec('hrEvents', 6, INPUT_CONFIGS),
    spec('idpEvents', 6, INPUT_CONFIGS),
    spec('siemEvents', 6, INPUT_CONFIGS),
  ];
}

/** Kafka header names the writer sets on every invalidation message. */
export const InvalidationHeaders = {
  contentType: 'content-type',
  schemaVersion: 'rescind-schema',
} as const;

/** Key of the heartbeat record on one partition of the invalidation topic. */
export const heartbeatKey = (partition: number): string => `heartbeat:${partition}`;
