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

/** Kafka header names the writer sets on every invalidation message. */
export const InvalidationHeaders = {
  contentType: 'content-type',
  schemaVersion: 'rescind-schema',
} as const;
