import { z } from 'zod';
import { RuleClaimSchema } from './claims';
import { MAX_RULE_KEY_LENGTH } from './rule-key';
import { storableText } from './text';

/** Instant as integer milliseconds since the Unix epoch. */
const EpochMillis = z.number().int().nonnegative().max(8.64e15);

/**
 * The rule as it travels to enforcement points.
 * `revokedBefore: null` revokes every matching token whatever its `iat`.
 * `value` and `iss` are compared exactly with the token's claims, as JWT claims are (RFC 7519
 * §7.3: no Unicode normalisation), and are text every store keeps as sent (no U+0000, no lone
 * surrogate). Their key, `ruleKey(rule)`, is at most {@link MAX_RULE_KEY_LENGTH} characters,
 * which for values beyond ASCII letters and digits is less than these lengths allow: a rule
 * is publishable when it satisfies this schema and `ruleKeyLengthProblem(rule)` finds nothing
 * (`publishingProblems` checks both).
 */
export const RuleV1Schema = z.object({
  claim: RuleClaimSchema,
  value: storableText({ max: 1024 }),
  iss: storableText({ max: 2048 }).nullable(),
  revokedBefore: EpochMillis.nullable(),
  /**
   * What `revokedBefore` is compared with. Absent or `iat`: when the token was issued.
   * `auth_time`: when the user authenticated (the token's `auth_time`, RFC 9068 §2.2.1, or its
   * `iat` when it has none), so tokens refreshed later from a grant obtained before the cutoff
   * are revoked too, while a new login after it is not. Added in place (optional) before any
   * consumer was released: a rule without it means what it always meant.
   */
  cutoff: z.enum(['iat', 'auth_time']).optional(),
  expiresAt: EpochMillis.nullable(),
});
/** What a rule's `revokedBefore` is compared with (absent: `iat`). */
export type RuleCutoff = 'iat' | 'auth_time';
export type RuleV1 = z.infer<typeof RuleV1Schema>;

const Envelope = {
  /** Schema version of this message. */
  v: z.literal(1),
  /** The rule key (also the Kafka message key): `ruleKey(rule)`. */
  key: z.string().min(1).max(MAX_RULE_KEY_LENGTH),
  /**
   * Global, monotonic version of this rule (a PostgreSQL sequence). Consumers keep
   * the highest `seq` per key and ignore anything older. Safe as a JS number up to 2^53.
   */
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  /** Id of the rule row in the writer. */
  revocationId: z.uuid(),
  /** When the writer committed this change (ms); used to measure propagation latency. */
  committedAt: EpochMillis,
};

/** A rule was created or changed; replaces any older version of `key`. */
export const RuleSetEventV1Schema = z.object({
  ...Envelope,
  type: z.literal('rule.set'),
  rule: RuleV1Schema,
});

/** Which rule a removal is about. */
export const RuleIdentityV1Schema = RuleV1Schema.pick({ claim: true, value: true, iss: true });

/** A rule was removed (reinstated or expired); `key` no longer revokes anything. */
export const RuleRemovedEventV1Schema = z.object({
  ...Envelope,
  type: z.literal('rule.removed'),
  rule: RuleIdentityV1Schema,
  /** Until when a stale `rule.set` for this key could still matter (ms), or null. */
  expiresAt: EpochMillis.nullable(),
});

/**
 * Every message on the invalidation topic, version 1.
 *
 * @example
 * const event = InvalidationEventV1Schema.parse(JSON.parse(message.value.toString()));
 */
export const InvalidationEventV1Schema = z.discriminatedUnion('type', [
  RuleSetEventV1Schema,
  RuleRemovedEventV1Schema,
]);
export type InvalidationEventV1 = z.infer<typeof InvalidationEventV1Schema>;
export type RuleSetEventV1 = z.infer<typeof RuleSetEventV1Schema>;
export type RuleRemovedEventV1 = z.infer<typeof RuleRemovedEventV1Schema>;

/** Value of the `rescind-schema` header on invalidation messages. */
export const INVALIDATION_SCHEMA = 'rescind.invalidation.v1';

/**
 * Sent by the writer to every partition of the invalidation topic at a fixed interval, keyed
 * `heartbeat:<partition>` (see `heartbeatKey`; a compacted topic refuses keyless records), so
 * enforcement points know how fresh they are even when no rule changes.
 *
 * What a heartbeat proves: every revocation the writer acknowledged before `publishedThrough`
 * was on the topic before this heartbeat, so a consumer that has read this heartbeat on a
 * partition has applied everything of that partition acknowledged before `publishedThrough`.
 * `at - publishedThrough` is how far publishing lags behind (the oldest unpublished outbox row),
 * so a stuck outbox shows as a `publishedThrough` that stops moving while `at` goes on.
 *
 * Changed in place from the first draft (which carried only `seq`, `at` and `writer`) rather
 * than as a v2: no consumer was released, and against Apache Kafka no draft heartbeat was ever
 * stored (they had no key). A heartbeat without `publishedThrough` is invalid, so a consumer
 * never takes a heartbeat that proves nothing for one that does.
 */
export const HeartbeatV1Schema = z
  .object({
    v: z.literal(1),
    type: z.literal('heartbeat'),
    /**
     * Highest committed rule version the writer knew of (diagnostic: a consumer's own highest
     * `seq` may stay below it for good, since tombstones carry no `seq`).
     */
    seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** When the writer sent it (ms, the writer's clock). */
    at: EpochMillis,
    /**
     * Every revocation acknowledged before this instant (ms, the writer's clock) is on the topic
     * ahead of this heartbeat. At most `at`.
     */
    publishedThrough: EpochMillis,
    /** Acknowledged changes not yet published when the writer last read its outbox. */
    pending: z.number().int().nonnegative(),
    /** Which writer instance sent it. */
    writer: z.string().min(1).max(200),
  })
  .refine((h) => h.publishedThrough <= h.at, {
    message: 'publishedThrough must not be later than at',
    path: ['publishedThrough'],
  });
export type HeartbeatV1 = z.infer<typeof HeartbeatV1Schema>;

/**
 * Every message on the invalidation topic with a value: rule changes and heartbeats. A record
 * with a null value is a tombstone: the writer pruned the rule of that key because it expired
 * (every token it matched has expired); it carries no `seq`, so a consumer removes the version it
 * holds only if that version has expired by its own clock, and otherwise ignores the tombstone.
 * A reinstated rule stays a `rule.removed` value (with its `seq`) until it is pruned.
 *
 * @example
 * const message = InvalidationMessageV1Schema.parse(JSON.parse(value.toString()));
 * if (message.type !== 'heartbeat') denyList.apply(message);
 */
export const InvalidationMessageV1Schema = z.discriminatedUnion('type', [
  RuleSetEventV1Schema,
  RuleRemovedEventV1Schema,
  HeartbeatV1Schema,
]);
export type InvalidationMessageV1 = z.infer<typeof InvalidationMessageV1Schema>;

/**
 * First line of a deny-list snapshot (NDJSON): what it covers. Rule lines follow, then
 * {@link SnapshotEndV1Schema}.
 */
export const SnapshotHeaderV1Schema = z.object({
  v: z.literal(1),
  type: z.literal('snapshot'),
  /** Highest committed rule version when the snapshot started. */
  watermark: z.number().int().nonnegative(),
  generatedAt: EpochMillis,
});
export type SnapshotHeaderV1 = z.infer<typeof SnapshotHeaderV1Schema>;

/**
 * Last line of a deny-list snapshot: how many rule lines came before it. A snapshot without it,
 * or with another count, was cut short and must not be trusted (missing rules would let revoked
 * tokens through).
 */
export const SnapshotEndV1Schema = z.object({
  v: z.literal(1),
  type: z.literal('snapshot.end'),
  rules: z.number().int().nonnegative(),
});
export type SnapshotEndV1 = z.infer<typeof SnapshotEndV1Schema>;
