import { SOURCE_EVENT_SCHEMAS, type SourceEventV1 } from '@rescind/contracts';
import {
  type CatalogueEntry,
  eventCatalogue,
  expectedCutoffs,
  LEAKED_TOKEN,
} from '../../../../test/support/event-catalogue';
import { pointersOf } from '../../../../test/support/rule-fixtures';
import { loadConfig } from '../config/config';
import { assertPublishable } from '../write-path/publishable-rules';
import { RulePolicy } from '../write-path/rule-policy';
import {
  mapHrEvent,
  mapSourceEvent,
  type MappingContext,
  UnknownEmployeeError,
} from './source-event.mapper';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ISS = 'https://idp.example.com';
/** When the writer received the event: far from the catalogue's occurredAt (the test's clock). */
const RECEIVED = Date.parse('2031-05-04T03:02:01Z');

const policyOf = (env: Record<string, string> = {}) =>
  new RulePolicy(
    loadConfig({ INGEST_AUTH_DISABLED: 'true', MAX_TOKEN_LIFETIME_SECONDS: '86400', ...env }),
  );

const context = (overrides: Partial<MappingContext> = {}): MappingContext => ({
  receivedAtMs: RECEIVED,
  policy: policyOf(),
  employees: new Map([['E-1001', { subject: 'mapped-subject', iss: ISS }]]),
  ...overrides,
});

/** The event as a transport hands it to the mapper: validated by its source's schema. */
const parsed = (entry: Pick<CatalogueEntry, 'source' | 'event'>): SourceEventV1 =>
  SOURCE_EVENT_SCHEMAS[entry.source].parse(entry.event);

const title = (entry: CatalogueEntry): string =>
  `${entry.source} ${String(entry.event.type)} (value from ${entry.field})`;

/**
 * 255 characters, the schema's limit for an identifier; percent-encoded, a CJK character takes 9
 * rule-key characters, so its key is far over 2,048.
 */
const LONG_VALUE = '漢'.repeat(255);

describe(mapSourceEvent.name, () => {
  const catalogue = eventCatalogue('mapper', 'm');

  it.each(catalogue.map((entry) => [title(entry), entry] as const))(
    'maps %s to the catalogued rule, timed from receipt',
    (_, entry) => {
      const mapped = mapSourceEvent(entry.source, parsed(entry), context());

      expect(mapped.rules).toEqual([
        {
          ...entry.rule,
          ...expectedCutoffs(entry, RECEIVED, { tokenMs: DAY, grantMs: 14 * DAY }),
          origin: { value: entry.field, ...(entry.event.iss !== undefined && { iss: '/iss' }) },
        },
      ]);
      expect(mapped.reason).toMatch(new RegExp(`^${entry.source} ${String(entry.event.type)}\\b`));
    },
  );

  it('never takes revokedBefore from occurredAt, which the source could set in the future', () => {
    const entry = catalogue.find((e) => e.event.type === 'employee.role_changed')!;
    const event = { ...entry.event, occurredAt: '2099-01-01T00:00:00Z' };
    const [rule] = mapSourceEvent('hr', parsed({ source: 'hr', event }), context()).rules;
    expect(rule!.revokedBefore).toBe(RECEIVED);
  });

  it("keeps a grant-wide rule for one issuer that issuer's grant and token lifetimes, any other the longest of all", () => {
    const policy = policyOf({
      ISSUERS: JSON.stringify([
        { issuer: ISS, jwks: { keys: [{ kty: 'EC' }] }, maxTokenLifetimeSeconds: 3600 },
      ]),
    });
    const byIssuer = catalogue.find((e) => e.event.type === 'user.disabled')!;
    const anyIssuer = catalogue.find((e) => e.event.type === 'credential.compromised')!;
    const ruleOf = (entry: CatalogueEntry) =>
      mapSourceEvent(entry.source, parsed(entry), context({ policy })).rules[0]!;
    // Tokens without auth_time: every token until no earlier grant (14 days by default) can mint.
    expect(ruleOf(byIssuer)).toMatchObject({
      revokedBefore: RECEIVED + 14 * DAY,
      expiresAt: RECEIVED + 14 * DAY + HOUR,
      grantWide: true,
    });
    expect(ruleOf(byIssuer)).not.toHaveProperty('cutoff');
    expect(ruleOf(anyIssuer)).toMatchObject({
      revokedBefore: RECEIVED + 14 * DAY,
      expiresAt: RECEIVED + 14 * DAY + DAY,
    });
  });

  it('revokes by authentication time, sparing new logins, for an issuer whose tokens carry auth_time', () => {
    const issuer = {
      issuer: ISS,
      jwks: { keys: [{ kty: 'EC' }] },
      maxTokenLifetimeSeconds: 3600,
      tokenClaims: ['auth_time', 'sid'],
      sessionLifetimeSeconds: 2 * 86_400,
      refreshTokenLifetimeSeconds: 3 * 86_400,
    };
    const policy = policyOf({ ISSUERS: JSON.stringify([issuer]) });
    const entry = catalogue.find((e) => e.event.type === 'user.password_changed')!;
    const [rule] = mapSourceEvent(entry.source, parsed(entry), context({ policy })).rules;
    expect(rule).toMatchObject({
      revokedBefore: RECEIVED,
      cutoff: 'auth_time',
      expiresAt: RECEIVED + 3 * DAY + HOUR,
      grantWide: true,
    });
    // A session of that issuer is revoked for as long as a session can mint.
    const session = catalogue.find((e) => e.event.type === 'session.revoked')!;
    const event = { ...session.event, iss: ISS };
    const [sid] = mapSourceEvent(
      'idp',
      parsed({ source: 'idp', event }),
      context({ policy }),
    ).rules;
    expect(sid).toMatchObject({ revokedBefore: null, expiresAt: RECEIVED + 3 * DAY + HOUR });
  });

  it.each(['employee.rehired', 'employee.reinstated'])(
    'maps %s to the reinstatement of the person, and no rule',
    (type) => {
      const event = { id: 'hr-back', type, occurredAt: new Date().toISOString(), subject: 'al' };
      const mapped = mapSourceEvent('hr', parsed({ source: 'hr', event }), context());
      expect(mapped).toEqual({
        rules: [],
        reinstate: [{ claim: 'sub', value: 'al', iss: null }],
        reason: `hr ${type}`,
      });
    },
  );

  it('keeps a leaked token only as its hash, in rule and origin alike', () => {
    const entry = catalogue.find((e) => e.field === '/token')!;
    const [rule] = mapSourceEvent('siem', parsed(entry), context()).rules;
    expect(JSON.stringify(rule)).not.toContain(LEAKED_TOKEN);
  });

  it('maps a routine signing key rotation to no rule', () => {
    const event = {
      id: 'routine-1',
      type: 'signing_key.rotated',
      occurredAt: new Date().toISOString(),
      kid: 'k1',
      compromised: false,
    };
    const mapped = mapSourceEvent('idp', parsed({ source: 'idp', event }), context());
    expect(mapped).toEqual({
      rules: [],
      reason: 'idp signing_key.rotated (routine: nothing to revoke)',
    });
  });

  it.each(
    catalogue
      .filter((entry) => entry.rule.claim !== 'token_hash') // a hash has a fixed length
      .map((entry) => [title(entry), entry] as const),
  )('refuses %s when its rule could not be published, naming that member', (_, entry) => {
    const event = { ...entry.event, [entry.field.slice(1)]: LONG_VALUE };
    const { rules } = mapSourceEvent(entry.source, parsed({ ...entry, event }), context());
    expect(pointersOf(() => assertPublishable(rules))).toEqual([entry.field]);
  });

  it('refuses a rule whose issuer makes the key too long, naming /iss', () => {
    const entry = catalogue.find((e) => e.event.type === 'employee.terminated')!;
    const event = { ...entry.event, iss: `${ISS}/${'%'.repeat(1000)}` };
    const { rules } = mapSourceEvent('hr', parsed({ source: 'hr', event }), context());
    expect(pointersOf(() => assertPublishable(rules))).toEqual(['/iss']);
  });
});

describe(mapHrEvent.name, () => {
  const employee = (extra: Record<string, unknown> = {}) =>
    SOURCE_EVENT_SCHEMAS.hr.parse({
      id: 'hr-e-1',
      type: 'employee.terminated',
      occurredAt: new Date().toISOString(),
      employeeId: 'E-1001',
      ...extra,
    });

  it("maps an employee id through the HR directory, with the directory's issuer", () => {
    expect(mapHrEvent(employee(), context()).rules).toEqual([
      {
        claim: 'sub',
        value: 'mapped-subject',
        iss: ISS,
        revokedBefore: null,
        expiresAt: null,
        grantWide: true,
        origin: { value: '/employeeId' },
      },
    ]);
  });

  it("prefers the event's own issuer to the directory's, and names it", () => {
    const [rule] = mapHrEvent(employee({ iss: 'https://other.example' }), context()).rules;
    expect(rule).toMatchObject({
      iss: 'https://other.example',
      origin: { value: '/employeeId', iss: '/iss' },
    });
  });

  it('refuses an employee the directory does not know, naming the id', () => {
    const run = () => mapHrEvent(employee({ employeeId: 'E-404' }), context());
    expect(run).toThrow(UnknownEmployeeError);
    expect(run).toThrow(/"E-404"/);
  });
});
