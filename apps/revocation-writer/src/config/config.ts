import { parseEnv } from '@rescind/config-env';
import { ConfigError } from './config-error';
import { EnvSchema } from './env-schema';
import { type WriterConfig, writerConfigFrom } from './writer-config';

// The entry of the writer's configuration: the rest of the writer imports from here.
export { ConfigError } from './config-error';
export { configSliceProviders, configSliceToken, InjectConfig } from './config-slices';
export type { ConfigSliceName } from './config-slices';
export type { IssuerConfig, PollConfig, TransmitterConfig } from './issuers';
export type { WriterConfig } from './writer-config';

/**
 * Reads the writer's settings from the environment, once, at start-up (env-schema.ts documents
 * each one). Throws a {@link ConfigError} naming every offending variable.
 */
export function loadConfig(env: Record<string, string | undefined>): WriterConfig {
  return writerConfigFrom(parseEnv(EnvSchema, env, ConfigError));
}
