import { RescindError } from '../errors';
import type { RuleOrigin, RuleSpec } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';

/**
 * Event types that revoke everything of the subject, grant-wide: what their earlier refresh
 * tokens and sessions mint afterwards too (`RulePolicy.grantWide`).
 */
const SUBJECT_EVENTS = new Set([
  `${CAEP}credential-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}account-credential-change-required`,
  `${RISC}credential-compromise`,
  `${RISC}sessions-revoked`,
  `${RISC}tokens-revoked`,
]);
const SESSION_REVOKED = `${CAEP}session-revoked`;
/** The subject's claims changed: tokens issued before carry the old ones; new ones are fine. */
const CLAIMS_CHANGED = `${CAEP}token-claims-change`;
/** Stream management: answered and recorded, never mapped to rules. */
const STREAM_EVENTS = new Set([`${SSF}verification`, `${SSF}stream-updated`]);

/** A subject we cannot turn into a rule: refused, never dropped silently. */
export class UnsupportedSubjectError extends RescindError {
  constructor(message: string) {
    super('unsupported_subject', message);
  }
}

/** RFC 9493 subject identifier (the formats SSF uses). */
type SubjectId = Record<string, unknown> & { format?: unknown };

export interface MappedSet {
  rules: RuleSpec[];
  reason: string;
}

/**
 * Maps the events of one SET to rules. CAEP session-revoked names a session (→ `sid`) or a user
 * (→ `sub`, grant-wide); credential and account events revoke everything of the user, grant-wide;
 * a claims change revokes the user's tokens issued up to now. The
 * subject is the event's `subject` (CAEP 1.0 drafts) or the SET's `sub_id` (SSF 1.0).
 */
export function mapSecurityEvents(
  events: Record<string, Record<string, unknown>>,
  subId: unknown,
  receivedAtMs: number,
  policy: RulePolicy,
): MappedSet {
  const rules: RuleSpec[] = [];
  const names: string[] = [];
  for (const [type, event] of Object.entries(events)) {
    const subject = (event.subject ?? subId) as SubjectId | undefined;
    // Where the subject is in the SET's claims, to name it if its rule cannot be published.
    const at = event.subject !== undefined ? `/events/${pointerToken(type)}/subject` : '/sub_id';
    const name = type.split('/').pop() ?? type;
    if (STREAM_EVENTS.has(type)) {
      names.push(`${name} (stream event, recorded)`);
    } else if (type === SESSION_REVOKED) {
      const session = sessionOf(subject, at);
      if (session !== undefined) {
        const rule = { claim: 'sid', ...session, revokedBefore: null };
        rules.push({ ...rule, expiresAt: policy.expiresAt(rule, receivedAtMs) });
      } else {
        rules.push(policy.grantWide(userOf(subject, policy, at), receivedAtMs));
      }
      names.push(name);
    } else if (SUBJECT_EVENTS.has(type)) {
      rules.push(policy.grantWide(userOf(subject, policy, at), receivedAtMs));
      names.push(name);
    } else if (type === CLAIMS_CHANGED) {
      const rule = { ...userOf(subject, policy, at), revokedBefore: receivedAtMs };
      rules.push({ ...rule, expiresAt: policy.expiresAt(rule, receivedAtMs) });
      names.push(name);
    } else {
      names.push(`${name} (not a revocation event, recorded)`);
    }
  }
  return { rules, reason: `ssf ${names.join(', ')}` };
}

/** A JSON Pointer reference token (RFC 6901 §3): `~` and `/` escaped. */
const pointerToken = (name: string): string => name.replace(/~/g, '~0').replace(/\//g, '~1');

function sessionOf(
  subject: SubjectId | undefined,
  at: string,
): { value: string; iss: string | null; origin: RuleOrigin } | undefined {
  const session = (subject?.format === 'complex' ? subject.session : undefined) as
    SubjectId | undefined;
  if (session?.format === 'opaque' && typeof session.id === 'string') {
    return { value: session.id, iss: null, origin: { value: `${at}/session/id` } };
  }
  if (session?.format === 'iss_sub' && typeof session.sub === 'string') {
    const iss = typeof session.iss === 'string' ? session.iss : null;
    return {
      value: session.sub,
      iss,
      origin: { value: `${at}/session/sub`, ...(iss !== null ? { iss: `${at}/session/iss` } : {}) },
    };
  }
  return undefined;
}

function userOf(
  subject: SubjectId | undefined,
  policy: RulePolicy,
  subjectAt: string,
): { claim: string; value: string; iss: string | null; origin: RuleOrigin } {
  const complex = subject?.format === 'complex';
  const user = (complex ? subject.user : subject) as SubjectId | undefined;
  const at = complex ? `${subjectAt}/user` : subjectAt;
  switch (user?.format) {
    case 'iss_sub':
      if (typeof user.sub === 'string' && typeof user.iss === 'string') {
        return {
          claim: 'sub',
          value: user.sub,
          iss: user.iss,
          origin: { value: `${at}/sub`, iss: `${at}/iss` },
        };
      }
      break;
    case 'opaque':
      if (typeof user.id === 'string') {
        return { claim: 'sub', value: user.id, iss: null, origin: { value: `${at}/id` } };
      }
      break;
    case 'email':
      if (typeof user.email === 'string') {
        if (!policy.isAllowedClaim('email')) {
          throw new UnsupportedSubjectError('email subjects need "email" in CUSTOM_RULE_CLAIMS');
        }
        return {
          claim: 'email',
          value: user.email.toLowerCase(),
          iss: null,
          origin: { value: `${at}/email` },
        };
      }
      break;
    default:
      break;
  }
  throw new UnsupportedSubjectError(
    `unsupported subject identifier ${JSON.stringify(user?.format ?? null)}; use iss_sub, opaque, email or complex`,
  );
}
