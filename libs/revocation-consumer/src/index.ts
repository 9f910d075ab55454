/**
 * What enforcement points embed: a local deny-list kept current from Kafka, answering
 * `check(claims)` without a network call. Loads no web framework: the Express middleware and the
 * Fastify hook only use their frameworks' types. The NestJS module and guard live in the
 * `@rescind/revocation-consumer/nest` entry point, so services without Nest never load it.
 */
export { createRevocationConsumer, RevocationConsumer } from './consumer';
export type { CheckDecision } from './decision';
export { RevocationConsumerError, type RevocationConsumerErrorCode } from './errors';
export type { RuleAppliedEvent } from './events';
export type { ConsumerLogger, RevocationConsumerOptions } from './options';
export type { ConsumerStatus } from './status';
export type { StalenessPolicy } from './freshness';
export {
  BINARY_SNAPSHOT_TYPE,
  type BinarySnapshotMeta,
  BinarySnapshotMetaSchema,
  type SnapshotSource,
} from './snapshot';
export type { UnreadableRule, UnreadableRulesStatus, UnreadableSource } from './unreadable-rules';
export { tokenHash } from '@rescind/contracts';
export type { RuleVersion, TokenClaims } from '@rescind/rules';
export {
  createRevocationEnforcer,
  type RevocationDenial,
  type RevocationDenialCode,
  type RevocationEnforcementOptions,
  type RevocationEnforcer,
  type RevocationProblem,
} from './integrations/enforcement';
export {
  revocationMiddleware,
  type RevocationMiddleware,
  type RevocationMiddlewareResponse,
} from './integrations/middleware';
export { revocationFastifyHook, type RevocationFastifyHook } from './integrations/fastify';
