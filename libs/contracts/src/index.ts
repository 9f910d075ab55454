/**
 * Versioned event schemas shared by the writer and every enforcement point.
 * Each schema validates at runtime; each type is derived from its schema.
 */
export * from './claims';
export * from './text';
export * from './source-events';
export * from './invalidation';
export * from './rule-key';
export * from './publishable-rule';
export * from './topics';
export * from './token-hash';
export * from './backoff';
export * from './dead-letter';
