import { z } from 'zod';

/**
 * What a revocation answers: the return value of `RecordRevocation.execute()` and the 202 body
 * of the event endpoints. The TypeScript type and the OpenAPI schema (`EventAccepted`) are both
 * derived from this one schema, so the documented answer cannot drift from the returned one.
 */
export const RevocationResultSchema = z.object({
  /** Id of the (first) rule; null when the event asked for no rule. */
  revocationId: z.uuid().nullable(),
  /** Its `seq`; null when the event asked for no rule. */
  seq: z.number().int().positive().nullable(),
  /**
   * Nothing was written: this event id was processed before and this is the earlier answer,
   * or (without an event id) every rule was already in force and these are their versions.
   */
  duplicate: z.boolean(),
  /** Every rule, in request order: the version written, or the one already in force. */
  rules: z.array(
    z.object({ revocationId: z.uuid(), key: z.string(), seq: z.number().int().positive() }),
  ),
  /**
   * What an event that ends a block (HR `employee.rehired`) did to each rule it names:
   * `reinstated` (with the removal's `seq`), `not_active` (nothing in force), or `kept` (another
   * source also revoked it: only an operator may lift it).
   */
  reinstatements: z
    .array(
      z.object({
        key: z.string(),
        outcome: z.enum(['reinstated', 'not_active', 'kept']),
        revocationId: z.uuid().optional(),
        seq: z.number().int().positive().optional(),
        keptFor: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

export type RevocationResult = z.infer<typeof RevocationResultSchema>;
