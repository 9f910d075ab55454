import { RescindError } from '../errors';
import type { RuleSpec } from '../rules/rule';
import type { RulePolicy } from '../rules/rule-policy';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';

/** Event types that revoke the subject's tokens issued up to now. */
const SUBJECT_EVENTS = new Set([
  `${CAEP}credential-change`,
  `${CAEP}token-claims-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}account-credential-change-required`,
  `${RISC}credential-compromise`,
  `${RISC}sessions-revoked`,
  `${RISC}tokens-revoked`,
]);
const SESSION_REVOKED = `${CAEP}session-revoked`;
/** Stream management: answered and recorded, never mapped to rules. */
const STREAM_EVENTS = new Set([`${SSF}verification`, `${SSF}stream-updated`]);

/** A subject we cannot turn into a rule: refused, never dropped silently. */
export class UnsupportedSubjectError extends RescindError {
  constructor(message: string) {
    super('unsupported_subject', message, 400, false);
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
 * (→ `sub`); credential and account events revoke the user's tokens issued up to now. The
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
    const name = type.split('/').pop() ?? type;
    if (STREAM_EVENTS.has(type)) {
      names.push(`${name} (stream event, recorded)`);
    } else if (type === SESSION_REVOKED) {
      const session = sessionOf(subject);
      const rule =
        session !== undefined
          ? { claim: 'sid', value: session.sid, iss: session.iss, revokedBefore: null }
          : { ...userOf(subject, policy), revokedBefore: receivedAtMs };
      rules.push({ ...rule, expiresAt: policy.expiresAt(rule, receivedAtMs) });
      names.push(name);
    } else if (SUBJECT_EVENTS.has(type)) {
      const rule = { ...userOf(subject, policy), revokedBefore: receivedAtMs };
      rules.push({ ...rule, expiresAt: policy.expiresAt(rule, receivedAtMs) });
      names.push(name);
    } else {
      names.push(`${name} (not a revocation event, recorded)`);
    }
  }
  return { rules, reason: `ssf ${names.join(', ')}` };
}

function sessionOf(
  subject: SubjectId | undefined,
): { sid: string; iss: string | null } | undefined {
  const session = (subject?.format === 'complex' ? subject.session : undefined) as
    SubjectId | undefined;
  if (session?.format === 'opaque' && typeof session.id === 'string') {
    return { sid: session.id, iss: null };
  }
  if (session?.format === 'iss_sub' && typeof session.sub === 'string') {
    return { sid: session.sub, iss: typeof session.iss === 'string' ? session.iss : null };
  }
  return undefined;
}

function userOf(
  subject: SubjectId | undefined,
  policy: RulePolicy,
): { claim: string; value: string; iss: string | null } {
  const user = (subject?.format === 'complex' ? subject.user : subject) as SubjectId | undefined;
  switch (user?.format) {
    case 'iss_sub':
      if (typeof user.sub === 'string' && typeof user.iss === 'string') {
        return { claim: 'sub', value: user.sub, iss: user.iss };
      }
      break;
    case 'opaque':
      if (typeof user.id === 'string') {
        return { claim: 'sub', value: user.id, iss: null };
      }
      break;
    case 'email':
      if (typeof user.email === 'string') {
        if (!policy.isAllowedClaim('email')) {
          throw new UnsupportedSubjectError('email subjects need "email" in CUSTOM_RULE_CLAIMS');
        }
        return { claim: 'email', value: user.email.toLowerCase(), iss: null };
      }
      break;
    default:
      break;
  }
  throw new UnsupportedSubjectError(
    `unsupported subject identifier ${JSON.stringify(user?.format ?? null)}; use iss_sub, opaque, email or complex`,
  );
}
