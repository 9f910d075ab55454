/**
 * What enforcement points embed: a local deny-list kept current from Kafka, answering
 * `check(claims)` without a network call.
 */
export {
  type CheckDecision,
  type ConsumerLogger,
  type ConsumerStatus,
  createRevocationConsumer,
  RevocationConsumer,
  type RevocationConsumerOptions,
  type RuleAppliedEvent,
} from './consumer';
export type { StalenessPolicy } from './freshness';
export type { SnapshotSource } from './snapshot';
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
export {
  InjectRevocationConsumer,
  REVOCATION_CONSUMER,
  REVOCATION_MODULE_OPTIONS,
  RevocationGuard,
  RevocationModule,
  type RevocationModuleAsyncOptions,
  type RevocationModuleForRootOptions,
  type RevocationModuleOptions,
} from './integrations/nest';
