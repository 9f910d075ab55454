import { tokenHash } from '@rescind/contracts';
import { CAEP, RISC } from './ssf-transmitter';

/** One example of every event type of every source, and what it must revoke. */
export interface CatalogueEntry {
  source: 'hr' | 'idp' | 'siem';
  event: Record<string, unknown>;
  /** The rule the writer must produce, as the consumer reports it. */
  rule: { claim: string; value: string; iss: string | null };
  /** JSON Pointer of the event member the rule's value comes from: a refusal names it. */
  field: string;
  /**
   * Which tokens the rule revokes: those issued before the writer received the event (a user, a
   * client: they may get new tokens later), or every token carrying the value.
   */
  revokes: Revokes;
  /** How long the rule is kept: one token lifetime after receipt, or until reinstated. */
  lasts: Lasts;
  /** Claims of a token issued a minute before the event, which must be revoked. */
  token: Record<string, unknown>;
  /** A termination: its rule also asks the IdP to end the person's grants. */
  grantWide?: true;
}

/**
 * `grant-wide`: everything of the user or client, what earlier grants mint later too
 * (`RulePolicy.grantWide`; for an issuer whose tokens carry no `auth_time`, every token issued
 * before receipt + the grant lifetime).
 */
export type Revokes = 'issued-before-receipt' | 'every-token' | 'grant-wide';
/** `a-grant-lifetime`: a session's or grant's lifetime and one token lifetime after receipt. */
export type Lasts = 'a-token-lifetime' | 'a-grant-lifetime' | 'until-reinstated';

/**
 * The rule's cutoffs the catalogue expects, for an issuer not listed in ISSUERS (no `auth_time`)
 * with these lifetimes, received at `receivedAt`.
 */
export function expectedCutoffs(
  entry: Pick<CatalogueEntry, 'revokes' | 'lasts' | 'grantWide'>,
  receivedAt: number,
  lifetimes: { tokenMs: number; grantMs: number },
): { revokedBefore: number | null; expiresAt: number | null; grantWide?: true } {
  const grantWide = entry.revokes === 'grant-wide' || entry.grantWide === true;
  const revokedBefore = {
    'issued-before-receipt': receivedAt,
    'every-token': null,
    'grant-wide': receivedAt + lifetimes.grantMs,
  }[entry.revokes];
  const expiresAt = {
    'a-token-lifetime': receivedAt + lifetimes.tokenMs,
    'a-grant-lifetime': receivedAt + lifetimes.grantMs + lifetimes.tokenMs,
    'until-reinstated': null,
  }[entry.lasts];
  return { revokedBefore, expiresAt, ...(grantWide ? { grantWide: true as const } : {}) };
}

const ISS = 'https://idp.example.com';
export const LEAKED_TOKEN = 'opaque-leaked-token-7f3c9a1e-do-not-store';

/** The event catalogue, with ids made unique by `prefix` and values by `tag`. */
export function eventCatalogue(prefix: string, tag: string): CatalogueEntry[] {
  const at = new Date().toISOString();
  const iat = Math.floor(Date.now() / 1000) - 60;
  let n = 0;
  const id = (): string => `${prefix}-${++n}`;
  const v = (name: string): string => `${name}-${tag}`;
  const siem = { severity: 'high', playbookId: 'pb-7' };
  const entries: CatalogueEntry[] = [
    ...['employee.terminated', 'employee.suspended', 'contractor.ended'].map(
      (type): CatalogueEntry => ({
        source: 'hr',
        event: { id: id(), type, occurredAt: at, subject: v(type), iss: ISS },
        rule: { claim: 'sub', value: v(type), iss: ISS },
        // New logins too, until HR or an operator reinstates the person.
        ...everyToken('/subject', 'until-reinstated'),
        grantWide: true,
        token: { sub: v(type), iss: ISS, iat },
      }),
    ),
    {
      source: 'hr',
      event: {
        id: id(),
        type: 'employee.role_changed',
        occurredAt: at,
        subject: v('employee.role_changed'),
        iss: ISS,
      },
      rule: { claim: 'sub', value: v('employee.role_changed'), iss: ISS },
      ...upToReceipt('/subject'),
      token: { sub: v('employee.role_changed'), iss: ISS, iat },
    },
    ...['session.revoked', 'user.logout'].map((type): CatalogueEntry => ({
      source: 'idp',
      event: { id: id(), type, occurredAt: at, sid: v(type) },
      rule: { claim: 'sid', value: v(type), iss: null },
      ...everyToken('/sid', 'a-grant-lifetime'),
      token: { sid: v(type), iat },
    })),
    ...['user.password_changed', 'user.disabled', 'user.deleted', 'mfa.reset'].map(
      (type): CatalogueEntry => ({
        source: 'idp',
        event: { id: id(), type, occurredAt: at, subject: v(type), iss: ISS },
        rule: { claim: 'sub', value: v(type), iss: ISS },
        ...grantWide('/subject'),
        token: { sub: v(type), iss: ISS, iat },
      }),
    ),
    {
      source: 'idp',
      event: { id: id(), type: 'refresh_token.revoked', occurredAt: at, jti: v('rt') },
      rule: { claim: 'jti', value: v('rt'), iss: null },
      ...everyToken('/jti', 'a-token-lifetime'),
      token: { jti: v('rt'), iat },
    },
    {
      source: 'idp',
      event: {
        id: id(),
        type: 'refresh_token.revoked',
        occurredAt: at,
        jti: v('rt2'),
        sid: v('rt-session'),
      },
      rule: { claim: 'sid', value: v('rt-session'), iss: null },
      // With a session, the access tokens of that session die with the refresh token.
      ...everyToken('/sid', 'a-grant-lifetime'),
      token: { sid: v('rt-session'), iat },
    },
    ...['client.deleted', 'client.secret_rotated'].map((type): CatalogueEntry => ({
      source: 'idp',
      event: { id: id(), type, occurredAt: at, clientId: v(type) },
      rule: { claim: 'client_id', value: v(type), iss: null },
      ...upToReceipt('/clientId'),
      token: { client_id: v(type), iat },
    })),
    {
      source: 'idp',
      event: {
        id: id(),
        type: 'signing_key.rotated',
        occurredAt: at,
        kid: v('idp-key'),
        compromised: true,
      },
      rule: { claim: 'kid', value: v('idp-key'), iss: null },
      // Anyone holding the key can mint tokens later: kept until an operator reinstates it.
      ...everyToken('/kid', 'until-reinstated'),
      token: { kid: v('idp-key'), iat },
    },
    {
      source: 'siem',
      event: {
        id: id(),
        type: 'credential.compromised',
        occurredAt: at,
        ...siem,
        subject: v('cred'),
      },
      rule: { claim: 'sub', value: v('cred'), iss: null },
      ...grantWide('/subject'),
      token: { sub: v('cred'), iat },
    },
    {
      source: 'siem',
      event: { id: id(), type: 'token.leaked', occurredAt: at, ...siem, jti: v('leak') },
      rule: { claim: 'jti', value: v('leak'), iss: null },
      ...everyToken('/jti', 'a-token-lifetime'),
      token: { jti: v('leak'), iat },
    },
    {
      source: 'siem',
      event: {
        id: id(),
        type: 'token.leaked',
        occurredAt: at,
        ...siem,
        token: `${LEAKED_TOKEN}-${tag}`,
      },
      rule: { claim: 'token_hash', value: tokenHash(`${LEAKED_TOKEN}-${tag}`), iss: null },
      ...everyToken('/token', 'a-token-lifetime'),
      token: { token_hash: tokenHash(`${LEAKED_TOKEN}-${tag}`) },
    },
    {
      source: 'siem',
      event: { id: id(), type: 'session.hijacked', occurredAt: at, ...siem, sid: v('hijack') },
      rule: { claim: 'sid', value: v('hijack'), iss: null },
      ...everyToken('/sid', 'a-grant-lifetime'),
      token: { sid: v('hijack'), iat },
    },
    {
      source: 'siem',
      event: {
        id: id(),
        type: 'client.compromised',
        occurredAt: at,
        ...siem,
        clientId: v('client'),
      },
      rule: { claim: 'client_id', value: v('client'), iss: null },
      ...grantWide('/clientId'),
      token: { azp: v('client'), iat },
    },
    {
      source: 'siem',
      event: {
        id: id(),
        type: 'key.compromised',
        occurredAt: at,
        severity: 'critical',
        kid: v('siem-key'),
      },
      rule: { claim: 'kid', value: v('siem-key'), iss: null },
      ...everyToken('/kid', 'until-reinstated'),
      token: { kid: v('siem-key'), iat },
    },
  ];
  return entries;
}

/** A user's or client's tokens issued before receipt: no such token outlives a token lifetime. */
const upToReceipt = (field: string) =>
  ({ field, revokes: 'issued-before-receipt', lasts: 'a-token-lifetime' }) as const;

/** A user's or client's everything, grant-wide: kept as long as an earlier grant can mint. */
const grantWide = (field: string) =>
  ({ field, revokes: 'grant-wide', lasts: 'a-grant-lifetime' }) as const;

const everyToken = (field: string, lasts: Lasts) =>
  ({ field, revokes: 'every-token', lasts }) as const;

/** One SET's claims as a transmitter signs them, and the rule the writer must raise for it. */
export interface SetCatalogueEntry {
  name: string;
  events: Record<string, Record<string, unknown>>;
  /** The SET's `sub_id` (SSF 1.0), when the event names no `subject` of its own. */
  subId?: Record<string, unknown>;
  rule: { claim: string; value: string; iss: string | null };
  /** JSON Pointer into the SET's claims of the member the rule's value comes from. */
  field: string;
  /** … and of its issuer, when the SET names one. */
  issField?: string;
  revokes: Revokes;
  lasts: Lasts;
}

const SUBJECT_SET_TYPES = [
  `${CAEP}session-revoked`,
  `${CAEP}credential-change`,
  `${CAEP}token-claims-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}account-credential-change-required`,
  `${RISC}credential-compromise`,
  `${RISC}sessions-revoked`,
  `${RISC}tokens-revoked`,
];

/** A JSON Pointer into the SET's claims (RFC 6901: `~` is `~0`, `/` is `~1`). */
const pointer = (...path: string[]): string =>
  path.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * Every CAEP/RISC event type that revokes, with each subject identifier format (RFC 9493) the
 * writer reads, values made unique by `tag`. Email subjects need `email` among the rule claims.
 */
export function setCatalogue(tag: string): SetCatalogueEntry[] {
  const v = (name: string): string => `${name}-${tag}`;
  const sessionRevoked = `${CAEP}session-revoked`;
  const disabled = `${RISC}account-disabled`;
  return [
    ...SUBJECT_SET_TYPES.map((type): SetCatalogueEntry => {
      const name = type.split('/').pop()!;
      return {
        name: `${name} for an iss_sub sub_id`,
        events: { [type]: {} },
        subId: { format: 'iss_sub', iss: ISS, sub: v(name) },
        rule: { claim: 'sub', value: v(name), iss: ISS },
        // A claims change only dates the old claims; everything else ends the user's grants.
        ...(type === `${CAEP}token-claims-change`
          ? upToReceipt('/sub_id/sub')
          : grantWide('/sub_id/sub')),
        issField: '/sub_id/iss',
      };
    }),
    {
      name: 'session-revoked naming an opaque session',
      events: {
        [sessionRevoked]: {
          subject: {
            format: 'complex',
            user: { format: 'iss_sub', iss: ISS, sub: v('session-user') },
            session: { format: 'opaque', id: v('session') },
          },
        },
      },
      rule: { claim: 'sid', value: v('session'), iss: null },
      ...everyToken(
        pointer('events', sessionRevoked, 'subject', 'session', 'id'),
        'a-grant-lifetime',
      ),
    },
    {
      name: 'session-revoked naming an iss_sub session',
      events: {
        [sessionRevoked]: {
          subject: { format: 'complex', session: { format: 'iss_sub', iss: ISS, sub: v('sid') } },
        },
      },
      rule: { claim: 'sid', value: v('sid'), iss: ISS },
      ...everyToken(
        pointer('events', sessionRevoked, 'subject', 'session', 'sub'),
        'a-grant-lifetime',
      ),
      issField: pointer('events', sessionRevoked, 'subject', 'session', 'iss'),
    },
    {
      name: 'account-disabled for an opaque event subject',
      events: { [disabled]: { subject: { format: 'opaque', id: v('opaque') } } },
      rule: { claim: 'sub', value: v('opaque'), iss: null },
      ...grantWide(pointer('events', disabled, 'subject', 'id')),
    },
    {
      name: 'account-disabled for the user of a complex event subject',
      events: {
        [disabled]: {
          subject: { format: 'complex', user: { format: 'iss_sub', iss: ISS, sub: v('user') } },
        },
      },
      // The SET's sub_id is the stream's, not the event's: the event's own subject wins.
      subId: { format: 'opaque', id: v('stream') },
      rule: { claim: 'sub', value: v('user'), iss: ISS },
      ...grantWide(pointer('events', disabled, 'subject', 'user', 'sub')),
      issField: pointer('events', disabled, 'subject', 'user', 'iss'),
    },
    {
      name: 'credential-change for an email subject, lower-cased',
      events: {
        [`${CAEP}credential-change`]: {
          subject: { format: 'email', email: `Carol-${tag}@Example.com` },
        },
      },
      rule: { claim: 'email', value: `carol-${tag}@example.com`, iss: null },
      ...grantWide(pointer('events', `${CAEP}credential-change`, 'subject', 'email')),
    },
  ];
}
