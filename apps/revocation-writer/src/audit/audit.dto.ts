import { MAX_RULE_KEY_LENGTH, storableText } from '@rescind/contracts';
import { z } from 'zod';
import type { AuditAction } from '../write-path/audit.repository';
import { CursorSchema, InstantSchema, LimitSchema } from '../revocations/dto/common.dto';
import { RuleResourceSchema } from '../revocations/dto/revocations.dto';

// A record, so that the compiler fails here when the audit repository learns a new action.
const ACTIONS: Record<AuditAction, true> = {
  'rule.set': true,
  'rule.lowered': true,
  'rule.reinstated': true,
  'rule.expired': true,
  'upstream.revoked': true,
  'upstream.failed': true,
};
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as [AuditAction, ...AuditAction[]];

/**
 * `GET /v1/audit` filters. `from`/`to` bound `recordedAt` (from inclusive, to exclusive).
 * `format=ndjson` (or `Accept: application/x-ndjson`) exports every matching entry instead of a
 * page; `limit` and `cursor` then do not apply.
 */
export const AuditQuerySchema = z.object({
  actor: storableText({ max: 200 }).optional().meta({ description: 'Credential id of the actor.' }),
  action: z.enum(AUDIT_ACTIONS).optional(),
  source: storableText({ max: 64 }).optional(),
  sourceEventId: storableText({ max: 200 }).optional(),
  revocationId: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID')
    .optional()
    .meta({ description: 'Id of the rule.' }),
  ruleKey: storableText({ max: MAX_RULE_KEY_LENGTH }).optional(),
  from: InstantSchema.optional().meta({ description: 'recordedAt at or after this instant.' }),
  to: InstantSchema.optional().meta({ description: 'recordedAt before this instant.' }),
  limit: LimitSchema,
  cursor: CursorSchema.optional(),
  format: z
    .enum(['json', 'ndjson'])
    .optional()
    .meta({ description: '`ndjson`: stream every matching entry, oldest first.' }),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

/** One audit record: who, what, why, when, and from which source event. */
export const AuditEntrySchema = z
  .object({
    id: z.number().int().positive().meta({ description: 'Position in the log (append order).' }),
    recordedAt: InstantSchema.meta({ description: 'When the writer committed the change.' }),
    occurredAt: InstantSchema.nullable().meta({ description: 'When the source says it happened.' }),
    actor: z.string().meta({ description: 'Credential id, or `system:…` for the writer itself.' }),
    actorName: z.string().nullable().meta({ description: 'Name of the API credential, if one.' }),
    actorRole: z.string().nullable(),
    action: z.enum(AUDIT_ACTIONS),
    reason: z.string(),
    source: z.string(),
    sourceEventId: z.string().nullable(),
    revocationId: z.uuid().nullable(),
    ruleKey: z.string().nullable(),
    seq: z.number().int().positive().nullable(),
    before: RuleResourceSchema.nullable().meta({ description: 'The rule before the change.' }),
    after: RuleResourceSchema.nullable().meta({ description: 'The rule after the change.' }),
  })
  .meta({ title: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** A page of the audit log, newest first. */
export const AuditPageSchema = z
  .object({
    items: z.array(AuditEntrySchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ title: 'AuditPage' });
export type AuditPage = z.infer<typeof AuditPageSchema>;
