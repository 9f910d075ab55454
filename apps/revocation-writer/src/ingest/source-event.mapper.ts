import {
  type EventSourceName,
  type HrEventV1,
  type IdpEventV1,
  type SiemEventV1,
  type SourceEventV1,
  tokenHash,
} from '@rescind/contracts';
import { RescindError } from '../errors';
import type { RuleOrigin, RuleSpec } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';

/** What one source event asks for: rules (possibly none) and the reason for the audit log. */
export interface MappedEvent {
  rules: RuleSpec[];
  reason: string;
}

export interface MappingContext {
  /** Server receive time (ms): the `revokedBefore` of "everything issued up to now" rules. */
  receivedAtMs: number;
  policy: RulePolicy;
  /** The HR directory: employee id to IdP subject (and issuer). */
  employees: ReadonlyMap<string, { subject: string; iss?: string }>;
}

/** An HR event names an employee the configured directory does not know. Never dropped silently. */
export class UnknownEmployeeError extends RescindError {
  constructor(employeeId: string) {
    super(
      'unknown_employee',
      `employee ${JSON.stringify(employeeId)} is not in the HR directory (HR_EMPLOYEE_DIRECTORY); nothing was revoked`,
    );
  }
}

type Scope = 'up-to-now' | 'every-token';

/**
 * One rule. "up-to-now" revokes what was issued before the writer received the event (users,
 * clients: they may legitimately get new tokens later); "every-token" revokes every token that
 * carries the value (one token, one session, a compromised key an attacker can mint with).
 * `field` is the event's member the value came from; the issuer comes from `/iss` when the event
 * has one (RuleSpec `origin`, to name them if the rule cannot be published).
 */
function rule(
  claim: string,
  value: string,
  field: string,
  iss: string | undefined,
  scope: Scope,
  ctx: MappingContext,
  origin: RuleOrigin = { value: `/${field}`, ...(iss !== undefined ? { iss: '/iss' } : {}) },
): RuleSpec {
  const spec = {
    claim,
    value,
    iss: iss ?? null,
    revokedBefore: scope === 'up-to-now' ? ctx.receivedAtMs : null,
  };
  return { ...spec, expiresAt: ctx.policy.expiresAt(spec, ctx.receivedAtMs), origin };
}

export function mapHrEvent(event: HrEventV1, ctx: MappingContext): MappedEvent {
  const reason = `hr ${event.type}`;
  // Every HR type revokes the person's current tokens; role changes too (they carry old roles).
  if (event.subject !== undefined) {
    return { rules: [rule('sub', event.subject, 'subject', event.iss, 'up-to-now', ctx)], reason };
  }
  const entry = ctx.employees.get(event.employeeId!);
  if (!entry) {
    throw new UnknownEmployeeError(event.employeeId!);
  }
  const iss = event.iss ?? entry.iss;
  const origin = { value: '/employeeId', ...(event.iss !== undefined ? { iss: '/iss' } : {}) };
  return {
    rules: [rule('sub', entry.subject, 'employeeId', iss, 'up-to-now', ctx, origin)],
    reason,
  };
}

export function mapIdpEvent(event: IdpEventV1, ctx: MappingContext): MappedEvent {
  const reason = `idp ${event.type}`;
  switch (event.type) {
    case 'session.revoked':
    case 'user.logout':
      return { rules: [rule('sid', event.sid, 'sid', event.iss, 'every-token', ctx)], reason };
    case 'user.password_changed':
    case 'user.disabled':
    case 'user.deleted':
    case 'mfa.reset':
      return {
        rules: [rule('sub', event.subject, 'subject', event.iss, 'up-to-now', ctx)],
        reason,
      };
    case 'refresh_token.revoked':
      // With a session, the access tokens of that session die with the refresh token.
      return {
        rules: [
          event.sid !== undefined
            ? rule('sid', event.sid, 'sid', event.iss, 'every-token', ctx)
            : rule('jti', event.jti!, 'jti', event.iss, 'every-token', ctx),
        ],
        reason,
      };
    case 'client.deleted':
    case 'client.secret_rotated':
      return {
        rules: [rule('client_id', event.clientId, 'clientId', event.iss, 'up-to-now', ctx)],
        reason,
      };
    case 'signing_key.rotated':
      return event.compromised
        ? {
            rules: [rule('kid', event.kid, 'kid', event.iss, 'every-token', ctx)],
            reason: `${reason} (compromised)`,
          }
        : { rules: [], reason: `${reason} (routine: nothing to revoke)` };
  }
}

export function mapSiemEvent(event: SiemEventV1, ctx: MappingContext): MappedEvent {
  const reason = `siem ${event.type} (severity ${event.severity}${event.playbookId ? `, playbook ${event.playbookId}` : ''})`;
  switch (event.type) {
    case 'credential.compromised':
      return {
        rules: [rule('sub', event.subject, 'subject', event.iss, 'up-to-now', ctx)],
        reason,
      };
    case 'token.leaked':
      return {
        rules: [
          event.jti !== undefined
            ? rule('jti', event.jti, 'jti', event.iss, 'every-token', ctx)
            : rule('token_hash', tokenHash(event.token!), 'token', undefined, 'every-token', ctx),
        ],
        reason,
      };
    case 'session.hijacked':
      return { rules: [rule('sid', event.sid, 'sid', event.iss, 'every-token', ctx)], reason };
    case 'client.compromised':
      return {
        rules: [rule('client_id', event.clientId, 'clientId', event.iss, 'up-to-now', ctx)],
        reason,
      };
    case 'key.compromised':
      return { rules: [rule('kid', event.kid, 'kid', event.iss, 'every-token', ctx)], reason };
  }
}

export function mapSourceEvent(
  source: EventSourceName,
  event: SourceEventV1,
  ctx: MappingContext,
): MappedEvent {
  switch (source) {
    case 'hr':
      return mapHrEvent(event as HrEventV1, ctx);
    case 'idp':
      return mapIdpEvent(event as IdpEventV1, ctx);
    case 'siem':
      return mapSiemEvent(event as SiemEventV1, ctx);
  }
}
