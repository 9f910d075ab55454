import { tokenHash } from '@rescind/contracts';

/** One example of every event type of every source, and what it must revoke. */
export interface CatalogueEntry {
  source: 'hr' | 'idp' | 'siem';
  event: Record<string, unknown>;
  /** The rule the writer must produce, as the consumer reports it. */
  rule: { claim: string; value: string; iss: string | null };
  /** Claims of a token issued a minute before the event, which must be revoked. */
  token: Record<string, unknown>;
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
    ...[
      'employee.terminated',
      'employee.suspended',
      'contractor.ended',
      'employee.role_changed',
    ].map((type): CatalogueEntry => ({
      source: 'hr',
      event: { id: id(), type, occurredAt: at, subject: v(type), iss: ISS },
      rule: { claim: 'sub', value: v(type), iss: ISS },
      token: { sub: v(type), iss: ISS, iat },
    })),
    ...['session.revoked', 'user.logout'].map((type): CatalogueEntry => ({
      source: 'idp',
      event: { id: id(), type, occurredAt: at, sid: v(type) },
      rule: { claim: 'sid', value: v(type), iss: null },
      token: { sid: v(type), iat },
    })),
    ...['user.password_changed', 'user.disabled', 'user.deleted', 'mfa.reset'].map(
      (type): CatalogueEntry => ({
        source: 'idp',
        event: { id: id(), type, occurredAt: at, subject: v(type), iss: ISS },
        rule: { claim: 'sub', value: v(type), iss: ISS },
        token: { sub: v(type), iss: ISS, iat },
      }),
    ),
    {
      source: 'idp',
      event: { id: id(), type: 'refresh_token.revoked', occurredAt: at, jti: v('rt') },
      rule: { claim: 'jti', value: v('rt'), iss: null },
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
      token: { sid: v('rt-session'), iat },
    },
    ...['client.deleted', 'client.secret_rotated'].map((type): CatalogueEntry => ({
      source: 'idp',
      event: { id: id(), type, occurredAt: at, clientId: v(type) },
      rule: { claim: 'client_id', value: v(type), iss: null },
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
      token: { sub: v('cred'), iat },
    },
    {
      source: 'siem',
      event: { id: id(), type: 'token.leaked', occurredAt: at, ...siem, jti: v('leak') },
      rule: { claim: 'jti', value: v('leak'), iss: null },
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
      token: { token_hash: tokenHash(`${LEAKED_TOKEN}-${tag}`) },
    },
    {
      source: 'siem',
      event: { id: id(), type: 'session.hijacked', occurredAt: at, ...siem, sid: v('hijack') },
      rule: { claim: 'sid', value: v('hijack'), iss: null },
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
      token: { kid: v('siem-key'), iat },
    },
  ];
  return entries;
}
