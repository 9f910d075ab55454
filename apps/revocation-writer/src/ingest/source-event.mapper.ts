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
  /** Rules the event ends (an HR rehire): reinstated in the same transaction, audited. */
  reinstate?: Array<Pick<RuleSpec, 'claim' | 'value' | 'iss'>>;
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

type Scope = 'up-to-now' | 'every-token' | 'grant-wide' | 'until-reinstated';

/**
 * One rule:
 * - "up-to-now" revokes what was issued before the writer received the event (a role or claims
 *   change, a rotated client: new tokens are fine);
 * - "every-token" revokes every token that carries the value (one token, one session, a
 *   compromised key an attacker can mint with);
 * - "grant-wide" revokes everything of a user or client including what earlier refresh tokens
 *   and sessions mint later (`RulePolicy.grantWide`);
 * - "until-reinstated" revokes every token of the person, new logins too, until HR or an
 *   operator reinstates them (a termination).
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
  const identity = { claim, value, iss: iss ?? null, origin };
  switch (scope) {
    case 'grant-wide':
      return ctx.policy.grantWide(identity, ctx.receivedAtMs);
    case 'until-reinstated':
      return ctx.policy.untilReinstated(identity);
    case 'up-to-now':
    case 'every-token': {
      const spec = { ...identity, revokedBefore: scope === 'up-to-now' ? ctx.receivedAtMs : null };
      return { ...spec, expiresAt: ctx.policy.expiresAt(spec, ctx.receivedAtMs) };
    }
  }
}

/** What each HR type does to the person: end their access, refresh their roles, or let them back. */
const HR_SCOPES: Record<HrEventV1['type'], Scope | 'reinstate'> = {
  'employee.terminated': 'until-reinstated',
  'employee.suspended': 'until-reinstated',
  'contractor.ended': 'until-reinstated',
  'employee.role_changed': 'up-to-now',
  'employee.rehired': 'reinstate',
  'employee.reinstated': 'reinstate',
};

export function mapHrEvent(event: HrEventV1, ctx: MappingContext): MappedEvent {
  const reason = `hr ${event.type}`;
  const person = ((): { value: string; field: string; iss?: string; origin?: RuleOrigin } => {
    if (event.subject !== undefined) {
      return { value: event.subject, field: 'subject', iss: event.iss };
    }
    const entry = ctx.employees.get(event.employeeId!);
    if (!entry) {
      throw new UnknownEmployeeError(event.employeeId!);
    }
    const origin = { value: '/employeeId', ...(event.iss !== undefined ? { iss: '/iss' } : {}) };
    return { value: entry.subject, field: 'employeeId', iss: event.iss ?? entry.iss, origin };
  })();
  const scope = HR_SCOPES[event.type];
  if (scope === 'reinstate') {
    // Ends a termination's or suspension's block: the person's rule, whatever revoked it.
    return {
      rules: [],
      reinstate: [{ claim: 'sub', value: person.value, iss: person.iss ?? null }],
      reason,
    };
  }
  return {
    rules: [rule('sub', person.value, person.field, person.iss, scope, ctx, person.origin)],
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
        rules: [rule('sub', event.subject, 'subject', event.iss, 'grant-wide', ctx)],
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
        rules: [rule('sub', event.subject, 'subject', event.iss, 'grant-wide', ctx)],
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
        rules: [rule('client_id', event.clientId, 'clientId', event.iss, 'grant-wide', ctx)],
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
