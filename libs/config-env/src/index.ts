/**
 * What every app of the repository needs to read its environment once, at start-up: zod schemas
 * for the shapes environment variables take (booleans, bounded integers, comma-separated lists,
 * JSON) and {@link parseEnv}, which validates the environment against an app's schema and names
 * each offending variable. Each app keeps its own schema, defaults and error class.
 */
export { asymmetricJwsAlgorithm, bool, commaList, int, json, list } from './env-values';
export { parseEnv } from './parse-env';
