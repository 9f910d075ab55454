import { z } from 'zod';

/** An instant as RFC 3339 text with an explicit offset (`Z` or `+02:00`), as the API speaks it. */
export const InstantSchema = z.iso.datetime({
  offset: true,
  message: 'must be an RFC 3339 date-time with an offset, e.g. 2026-11-22T09:30:00Z',
});

/** `limit` of a paginated listing: query strings are text, so it is coerced. */
export const LimitSchema = z.coerce
  .number({ message: 'must be an integer from 1 to 500' })
  .int('must be an integer from 1 to 500')
  .min(1, 'must be an integer from 1 to 500')
  .max(500, 'must be an integer from 1 to 500')
  .default(50)
  .meta({ description: 'Page size, 1 to 500.' });

/** The opaque cursor a previous page returned as `nextCursor`. */
export const CursorSchema = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: 'The `nextCursor` of the previous page; omit for the first page.' });

/**
 * RFC 9457 problem details as every error of the writer is sent (`application/problem+json`),
 * with the stable `code` and `retriable` flag of the error that caused it.
 */
export const ProblemSchema = z
  .object({
    type: z.string().meta({ description: '`urn:rescind:problem:<code>`' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    code: z.string().meta({ description: 'Stable machine-readable error code.' }),
    retriable: z.boolean().meta({ description: 'Whether repeating the same request may succeed.' }),
    errors: z
      .array(
        z.object({
          pointer: z.string().meta({ description: 'JSON Pointer (RFC 6901) into the body.' }),
          detail: z.string(),
        }),
      )
      .optional()
      .meta({ description: 'Every offending member of the body (422 only).' }),
  })
  .meta({ title: 'Problem' });
