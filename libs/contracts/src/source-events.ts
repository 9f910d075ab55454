import { z } from 'zod';
import { storableText, unstorableText } from './text';

/** Identifier an event source gives an event; the idempotency key together with the source. */
export const EventIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const IsoInstant = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' });

/**
 * Scheme, authority without userinfo, optional path; no control character, white space or
 * backslash anywhere: nothing a URL parser would drop or rewrite.
 */
const ISSUER_URL = /^(?!.*\p{Cc})https?:\/\/[^\s/?#@\\]+(?:\/[^\s?#\\]*)?$/iu;

/**
 * An issuer identifier as its tokens carry it in `iss`: an absolute http(s) URL, kept exactly as
 * sent, since rules compare it exactly with the token's `iss`. Refused rather than rewritten:
 * white space and control characters (a URL parser drops them silently, so the rule would name
 * another issuer than the one sent), a backslash (read as `/`), userinfo, a query or a fragment
 * (an issuer identifier has none: RFC 8414 §2). At most as long as a rule's `iss`.
 */
const Issuer = storableText({ max: 2048 }).check((ctx) => {
  if (
    unstorableText(ctx.value) === undefined &&
    !(ISSUER_URL.test(ctx.value) && URL.canParse(ctx.value))
  ) {
    ctx.issues.push({
      code: 'custom',
      message:
        'must be an http(s) issuer URL such as https://idp.example, without white space, userinfo, query or fragment',
      input: ctx.value,
    });
  }
});

/** A subject, session, token, client or key id: text every store keeps exactly as sent. */
const Identifier = storableText({ max: 255 });

/** Fields every source event carries. */
const Envelope = {
  /** Unique id the source gives this event. */
  id: EventIdSchema,
  /** When the source says it happened. Recorded for audit; never trusted to extend a revocation. */
  occurredAt: IsoInstant,
  /** Restrict the rules to tokens of this issuer (a `sub` is unique only per issuer). */
  iss: Issuer.optional(),
};

// ------------------------------------------------------------------------------------------
// HR

export const HR_EVENT_TYPES = [
  'employee.terminated',
  'employee.suspended',
  'contractor.ended',
  'employee.role_changed',
  'employee.rehired',
  'employee.reinstated',
] as const;

/**
 * HR event, version 1. `terminated`, `suspended` and `contractor.ended` revoke every token of the
 * person until they are reinstated; `role_changed` revokes the tokens issued before the writer
 * received it (they carry the old roles); `rehired` and `reinstated` end the block (added in
 * place: new types, nothing else changed). The person is named by `subject`
 * (the IdP `sub`) or by `employeeId`, which the writer maps through its configured directory.
 *
 * @example
 * { "id": "hr-1", "type": "employee.terminated", "occurredAt": "2026-11-22T09:30:00Z", "subject": "alice" }
 */
export const HrEventV1Schema = z
  .object({
    ...Envelope,
    type: z.enum(HR_EVENT_TYPES),
    subject: Identifier.optional(),
    employeeId: Identifier.optional(),
  })
  .refine((e) => (e.subject === undefined) !== (e.employeeId === undefined), {
    message: 'give exactly one of subject or employeeId',
    path: ['subject'],
  });
export type HrEventV1 = z.infer<typeof HrEventV1Schema>;

// ------------------------------------------------------------------------------------------
// IdP

const IdpSessionEvent = z.object({
  ...Envelope,
  type: z.enum(['session.revoked', 'user.logout']),
  sid: Identifier,
  /** Informational: the session's user. */
  subject: Identifier.optional(),
});
const IdpUserEvent = z.object({
  ...Envelope,
  type: z.enum(['user.password_changed', 'user.disabled', 'user.deleted', 'mfa.reset']),
  subject: Identifier,
});
const IdpRefreshTokenEvent = z
  .object({
    ...Envelope,
    type: z.literal('refresh_token.revoked'),
    /** The refresh token's `jti`; or its session, to kill the access tokens with it. */
    jti: Identifier.optional(),
    sid: Identifier.optional(),
  })
  .refine((e) => e.jti !== undefined || e.sid !== undefined, {
    message: 'give jti or sid',
    path: ['jti'],
  });
const IdpClientEvent = z.object({
  ...Envelope,
  type: z.enum(['client.deleted', 'client.secret_rotated']),
  clientId: Identifier,
});
const IdpSigningKeyEvent = z.object({
  ...Envelope,
  type: z.literal('signing_key.rotated'),
  kid: Identifier,
  /** Only a compromised key revokes the tokens it signed; a routine rotation changes nothing. */
  compromised: z.boolean(),
});

/**
 * Identity-provider event, version 1.
 *
 * @example
 * { "id": "idp-9", "type": "session.revoked", "occurredAt": "2026-11-22T09:30:00Z", "sid": "s-1" }
 */
export const IdpEventV1Schema = z.discriminatedUnion('type', [
  IdpSessionEvent,
  IdpUserEvent,
  IdpRefreshTokenEvent,
  IdpClientEvent,
  IdpSigningKeyEvent,
]);
export type IdpEventV1 = z.infer<typeof IdpEventV1Schema>;

// ------------------------------------------------------------------------------------------
// SIEM

const SiemContext = {
  ...Envelope,
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  /** The SOAR playbook (or rule) that decided; kept in the audit record. */
  playbookId: storableText({ max: 200 }).optional(),
};

const SiemCredentialEvent = z.object({
  ...SiemContext,
  type: z.literal('credential.compromised'),
  subject: Identifier,
});
const SiemTokenLeakedEvent = z
  .object({
    ...SiemContext,
    type: z.literal('token.leaked'),
    jti: Identifier.optional(),
    /**
     * The leaked token itself: hashed on receipt (a `token_hash` rule), never stored, so any
     * string will do (the enforcement point hashes the token it is shown the same way).
     */
    token: z.string().min(1).max(16_384).optional(),
  })
  .refine((e) => (e.jti === undefined) !== (e.token === undefined), {
    message: 'give exactly one of jti or token',
    path: ['jti'],
  });
const SiemSessionEvent = z.object({
  ...SiemContext,
  type: z.literal('session.hijacked'),
  sid: Identifier,
});
const SiemClientEvent = z.object({
  ...SiemContext,
  type: z.literal('client.compromised'),
  clientId: Identifier,
});
const SiemKeyEvent = z.object({
  ...SiemContext,
  type: z.literal('key.compromised'),
  kid: Identifier,
});

/**
 * SIEM / SOAR event, version 1.
 *
 * @example
 * { "id": "siem-3", "type": "credential.compromised", "occurredAt": "2026-11-22T09:30:00Z",
 *   "severity": "high", "playbookId": "pb-credential-stuffing", "subject": "alice" }
 */
export const SiemEventV1Schema = z.discriminatedUnion('type', [
  SiemCredentialEvent,
  SiemTokenLeakedEvent,
  SiemSessionEvent,
  SiemClientEvent,
  SiemKeyEvent,
]);
export type SiemEventV1 = z.infer<typeof SiemEventV1Schema>;

/** The systems that send events, and the schema of each one's events. */
export const SOURCE_EVENT_SCHEMAS = {
  hr: HrEventV1Schema,
  idp: IdpEventV1Schema,
  siem: SiemEventV1Schema,
} as const;
export type EventSourceName = keyof typeof SOURCE_EVENT_SCHEMAS;
export type SourceEventV1 = HrEventV1 | IdpEventV1 | SiemEventV1;

/** Schema-version header value producers put on input-topic messages. */
export const SOURCE_EVENT_SCHEMA_VERSION = 'v1';
