/** Thrown at start-up when the environment is invalid; names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
