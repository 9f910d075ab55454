import { z } from 'zod';
import { ProblemSchema } from '../revocations/dto/common.dto';
import { RevocationResultSchema } from '../write-path/revocation-result';

/** What one event of a bulk request got: its own 202 answer, or its own problem. */
export const BulkEventOutcomeSchema = z.object({
  /** Position in the request, from 0. */
  index: z.number().int().nonnegative(),
  /** The event's `id`, when it had one. */
  id: z.string().nullable(),
  /** The status the event would have got alone: 202, or the problem's. */
  status: z.number().int(),
  result: RevocationResultSchema.optional(),
  problem: ProblemSchema.optional(),
});
export type BulkEventOutcome = z.infer<typeof BulkEventOutcomeSchema>;

/**
 * The 200 answer of `POST /v1/events/{source}/bulk`: counts, then one outcome per event, in
 * request order. Retry exactly the events whose problem is `retriable`.
 */
export const BulkAnswerSchema = z.object({
  /** Events recorded now. */
  accepted: z.number().int().nonnegative(),
  /** Events recorded before (same id, same body): their first answer. */
  duplicates: z.number().int().nonnegative(),
  /** Events refused, or not stored (retriable). */
  failed: z.number().int().nonnegative(),
  results: z.array(BulkEventOutcomeSchema),
});
export type BulkAnswer = z.infer<typeof BulkAnswerSchema>;
