import type { z } from 'zod';

/**
 * Validates the environment against an app's schema and returns the parsed values. A variable
 * set to the empty string counts as unset (`FOO=` in a compose file takes the default). On
 * failure it throws `new ErrorClass('invalid configuration: <VARIABLE>: <problem>; …')`, naming
 * every offending variable at once.
 *
 * @example
 * const env = parseEnv(EnvSchema, process.env, ConfigError);
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
  ErrorClass: new (message: string) => Error,
): z.output<S> {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ErrorClass(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
