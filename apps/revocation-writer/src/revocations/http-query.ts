import type { z } from 'zod';
import { InvalidQueryError } from './errors';

/**
 * Validates a query string (Fastify's parsed object) against `schema`, or throws a 400 naming
 * every offending parameter. A repeated parameter arrives as an array and is refused like any
 * other wrong type. Unknown parameters are ignored.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query ?? {});
  if (!result.success) {
    throw new InvalidQueryError(
      result.error.issues.map((issue) => ({
        parameter: issue.path.map(String).join('.') || '(query)',
        detail: issue.message,
      })),
    );
  }
  return result.data;
}
