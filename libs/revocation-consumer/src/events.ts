import type { RuleVersion } from '@rescind/rules';

/**
 * Emitted with every rule version that changed the deny-list.
 *
 * @example
 * consumer.on('rule', ({ rule, latencyMs }) => log.info({ key: rule.key, latencyMs }));
 */
export interface RuleAppliedEvent {
  rule: RuleVersion;
  /** Time from the writer's commit to this apply (ms); includes clock skew between hosts. */
  latencyMs: number;
}

/**
 * The events a {@link RevocationConsumer} emits, with their arguments.
 *
 * @example
 * consumer.on('stale', ({ stalenessMs }) => log.warn({ stalenessMs }, 'deny-list stale'));
 */
export interface ConsumerEvents {
  rule: [RuleAppliedEvent];
  invalid: [{ partition: number; offset: string; reason: string }];
  stale: [{ heartbeatAgeMs: number | null; stalenessMs: number | null }];
  fresh: [];
  ready: [];
}
