import { MAX_RULE_KEY_LENGTH, RuleClaimSchema, storableText } from '@rescind/contracts';
import { z } from 'zod';
import type { RuleStatus } from '../../write-path/stored-rule';
import { CursorSchema, InstantSchema, LimitSchema } from './common.dto';

/** One rule as an operator asks for it. */
export const RuleRequestSchema = z.object({
  claim: RuleClaimSchema.meta({
    description: 'Token claim the rule matches; one of the claims this deployment allows.',
  }),
  value: storableText({ max: 1024 }).meta({
    description:
      'Claim value to match, compared exactly (no Unicode normalisation); for `token_hash` the ' +
      `SHA-256 (base64url). With \`claim\` and \`iss\` it must encode to a rule key of at most ${MAX_RULE_KEY_LENGTH} characters (each part percent-encoded).`,
  }),
  iss: storableText({ max: 2048 })
    .nullish()
    .meta({ description: 'Only tokens of this issuer; absent or null: any issuer.' }),
  revokedBefore: InstantSchema.nullish().meta({
    description:
      'Tokens issued strictly before this instant are revoked; null: every matching token. ' +
      'Absent: null for jti, token_hash and sid, the time the writer received the request otherwise. ' +
      'Must not lie in the future.',
  }),
});
export type RuleRequest = z.infer<typeof RuleRequestSchema>;

/** `POST /v1/revocations`. Actor, source and time come from the server, never from here. */
export const CreateRevocationSchema = z
  .object({
    rules: z.array(RuleRequestSchema).min(1).max(10_000),
    reason: storableText({ max: 1000, trim: true }).meta({
      description: 'Why; recorded in the audit log.',
    }),
    dryRun: z
      .boolean()
      .optional()
      .meta({ description: 'Authorize and answer what would be written; write nothing.' }),
    confirm: z.boolean().optional().meta({
      description:
        'Needed for broad claims (issuer, key, tenant) and for more rules than the bulk threshold.',
    }),
  })
  .meta({ title: 'CreateRevocationRequest' });
export type CreateRevocation = z.infer<typeof CreateRevocationSchema>;

/** `POST /v1/revocations/{id}/reinstate`. */
export const ReinstateSchema = z
  .object({
    reason: storableText({ max: 1000, trim: true }).meta({
      description: 'Why; recorded in the audit log.',
    }),
    revokedBefore: InstantSchema.optional().meta({
      description:
        'Lower the rule to this instant (must be before the current one) instead of removing it.',
    }),
  })
  .meta({ title: 'ReinstateRequest' });
export type Reinstate = z.infer<typeof ReinstateSchema>;

// A record, so that the compiler fails here when the rule model learns a new status.
const STATUSES: Record<RuleStatus, true> = { active: true, reinstated: true, expired: true };
export const RULE_STATUSES = Object.keys(STATUSES) as [RuleStatus, ...RuleStatus[]];

/** A rule as the API shows it. Instants are RFC 3339 strings (UTC, millisecond precision). */
export const RuleResourceSchema = z
  .object({
    id: z.uuid(),
    key: z.string().meta({ description: 'Rule key `claim:issuer:value`, percent-encoded parts.' }),
    claim: z.string(),
    value: z.string(),
    iss: z.string().nullable(),
    revokedBefore: InstantSchema.nullable().meta({
      description: 'Tokens issued strictly before this are revoked; null: every matching token.',
    }),
    expiresAt: InstantSchema.nullable().meta({
      description: 'After this no matching token can still be valid; null: never.',
    }),
    seq: z.number().int().positive().meta({ description: 'Version of this change (global).' }),
    status: z.enum(RULE_STATUSES),
    source: z.string(),
    sourceEventId: z.string().nullable(),
    reason: z.string(),
    createdAt: InstantSchema,
    updatedAt: InstantSchema,
    removedAt: InstantSchema.nullable(),
  })
  .meta({ title: 'Rule' });
export type RuleResource = z.infer<typeof RuleResourceSchema>;

/** 201 of `POST /v1/revocations`: the versions written, in request order. */
export const CreatedRevocationSchema = z
  .object({
    revocationId: z.uuid().meta({ description: 'Id of the first rule written.' }),
    seq: z.number().int().positive().meta({ description: 'Its seq.' }),
    duplicate: z
      .boolean()
      .meta({ description: 'True when this Idempotency-Key was seen before: the first answer.' }),
    rules: z.array(RuleResourceSchema),
  })
  .meta({ title: 'CreatedRevocation' });
export type CreatedRevocation = z.infer<typeof CreatedRevocationSchema>;

export const PLANNED_EFFECTS = ['create', 'reactivate', 'raise', 'unchanged'] as const;

/** 200 of a dry run: what each rule would become, computed against what is stored now. */
export const DryRunSchema = z
  .object({
    dryRun: z.literal(true),
    rules: z.array(
      z.object({
        key: z.string(),
        claim: z.string(),
        value: z.string(),
        iss: z.string().nullable(),
        revokedBefore: InstantSchema.nullable(),
        expiresAt: InstantSchema.nullable(),
        effect: z.enum(PLANNED_EFFECTS).meta({
          description:
            'create: no rule with this key; reactivate: a reinstated or expired rule revokes again; ' +
            'raise: the active rule moves later; unchanged: the active rule already covers it.',
        }),
        current: RuleResourceSchema.nullable().meta({
          description: 'The stored rule with this key before the request, if any.',
        }),
      }),
    ),
  })
  .meta({ title: 'DryRun' });
export type DryRun = z.infer<typeof DryRunSchema>;

/** `GET /v1/revocations` filters. `from`/`to` bound `updatedAt` (from inclusive, to exclusive). */
export const ListRulesQuerySchema = z.object({
  claim: storableText({ max: 64 }).optional(),
  value: storableText({ max: 1024 }).optional(),
  iss: storableText({ max: 2048 }).optional(),
  source: storableText({ max: 64 }).optional(),
  status: z.enum(RULE_STATUSES).optional(),
  from: InstantSchema.optional().meta({ description: 'updatedAt at or after this instant.' }),
  to: InstantSchema.optional().meta({ description: 'updatedAt before this instant.' }),
  limit: LimitSchema,
  cursor: CursorSchema.optional(),
});
export type ListRulesQuery = z.infer<typeof ListRulesQuerySchema>;

/** A page of rules, latest change first (by `seq`). */
export const RulePageSchema = z
  .object({
    items: z.array(RuleResourceSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ title: 'RulePage' });
export type RulePage = z.infer<typeof RulePageSchema>;
