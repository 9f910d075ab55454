import type { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { InvalidEventError, UnsupportedMediaTypeError } from '../errors';

/** Event endpoints take JSON only (application/json or a +json type). */
export function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type'];
  const essence = type?.split(';')[0]?.trim().toLowerCase();
  if (essence !== 'application/json' && !essence?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError('application/json', type);
  }
}

/** JSON Pointer (RFC 6901) of a zod issue path. */
function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Validates `body` against `schema` or throws a 422 naming every offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidEventError([{ pointer: '', detail: 'the body must be a JSON object' }]);
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new InvalidEventError(
      result.error.issues.map((issue) => ({ pointer: pointer(issue.path), detail: issue.message })),
    );
  }
  return result.data;
}
