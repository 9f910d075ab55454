import { SOURCE_EVENT_SCHEMAS, tokenHash } from '@rescind/contracts';
import type { z } from 'zod';
import {
  containsJose,
  containsOpaqueSecret,
  fingerprint,
  NON_CREDENTIAL_MEMBERS,
  redactJson,
  redactSourceEvent,
  Scrubber,
  suggestsCredential,
} from './credential-redaction';

const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
const JWS = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'alice', jti: 'j-1' })}.c2lnbmF0dXJlLWJ5dGVz`;
const JWE = `${b64({ alg: 'dir', enc: 'A256GCM' })}..aXYtMTIzNDU2.Y2lwaGVydGV4dA.dGFnLTEyMzQ1Ng`;
const OPAQUE = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';

/** Every member name of every object schema of the contracts' source events. */
function memberNames(): Set<string> {
  const names = new Set<string>();
  const visit = (schema: z.ZodType): void => {
    if ('options' in schema) {
      (schema as unknown as { options: z.ZodType[] }).options.forEach(visit);
    } else if ('shape' in schema) {
      Object.keys((schema as unknown as { shape: object }).shape).forEach((n) => names.add(n));
    } else {
      throw new Error('a source event schema of a kind this test does not know');
    }
  };
  Object.values(SOURCE_EVENT_SCHEMAS).forEach((schema) => visit(schema));
  return names;
}

describe('NON_CREDENTIAL_MEMBERS', () => {
  it('is every member of the source event schemas but the leaked token (a new one is a decision)', () => {
    const credentials = [...memberNames()].filter((name) => !NON_CREDENTIAL_MEMBERS.has(name));
    expect(credentials).toEqual(['token']);
    expect([...NON_CREDENTIAL_MEMBERS].filter((name) => !memberNames().has(name))).toEqual([]);
    expect([...NON_CREDENTIAL_MEMBERS].filter(suggestsCredential)).toEqual([]);
  });
});

describe(suggestsCredential.name, () => {
  it.each([
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'leakedToken',
    'assertion',
    'client_secret',
    'Password',
    'Authorization',
    'proxy-authorization',
    'x-api-key',
    'Cookie',
    'webhook-signature',
  ])('%s: yes', (name) => expect(suggestsCredential(name)).toBe(true));

  it.each(['id', 'subject', 'jti', 'kid', 'type', 'traceparent', 'content-type', 'key'])(
    '%s: no',
    (name) => expect(suggestsCredential(name)).toBe(false),
  );
});

describe(containsJose.name, () => {
  it('finds a compact JWS or JWE, alone or inside text', () => {
    expect(containsJose(JWS)).toBe(true);
    expect(containsJose(JWE)).toBe(true);
    expect(containsJose(`Bearer ${JWS}`)).toBe(true);
    expect(containsJose(`${JWS.split('.').slice(0, 2).join('.')}.`)).toBe(true); // alg none
  });

  it('does not take host names, URLs or event types for one', () => {
    for (const text of [
      'idp.example.com',
      'https://accounts.example-company.com/tenant.v2.prod',
      'token.leaked',
      'client.secret_rotated',
      'eyes.example.com',
    ]) {
      expect(containsJose(text)).toBe(false);
    }
  });
});

describe(containsOpaqueSecret.name, () => {
  it('finds random mixed-case keys and long hex', () => {
    expect(containsOpaqueSecret(OPAQUE)).toBe(true);
    expect(containsOpaqueSecret(`token=${OPAQUE}`)).toBe(true);
    expect(
      containsOpaqueSecret('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
    ).toBe(true);
  });

  it('leaves readable ids, UUIDs and event types alone', () => {
    for (const text of [
      'hr-2026-0042',
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      'employee.terminated',
      'rescind-writer-kafka-test',
    ]) {
      expect(containsOpaqueSecret(text)).toBe(false);
    }
  });
});

describe(redactJson.name, () => {
  it('keeps the members the contracts define, and fingerprints the leaked token', () => {
    const event = {
      id: 's-1',
      type: 'token.leaked',
      occurredAt: '2026-11-22T09:30:00Z',
      severity: 'high',
      playbookId: 'pb-1',
      token: 'raw-token-value',
    };
    const { value, replaced } = redactJson(event);
    expect(value).toEqual({ ...event, token: `sha256:${tokenHash('raw-token-value')}` });
    expect(replaced).toEqual(['raw-token-value']);
  });

  it('fingerprints everything under a credential member, whatever its type', () => {
    const { value } = redactJson({ token: { value: 'a', list: ['b', 7], ok: true }, secret: 42 });
    expect(value).toEqual({
      token: { value: fingerprint('a'), list: [fingerprint('b'), fingerprint('7')], ok: true },
      secret: fingerprint('42'),
    });
  });

  it('fingerprints unknown members, top-level scalars, JWTs and long strings even under known names', () => {
    const long = 'x'.repeat(257);
    expect(redactJson({ tokn: 'abc', subject: JWS, iss: long, id: 'e-1' }).value).toEqual({
      tokn: fingerprint('abc'),
      subject: fingerprint(JWS),
      iss: fingerprint(long),
      id: 'e-1',
    });
    expect(redactJson(['abc', { id: 'e-2' }]).value).toEqual([fingerprint('abc'), { id: 'e-2' }]);
    expect(redactJson('abc').value).toBe(fingerprint('abc'));
  });

  it('fingerprints member names that look like credentials, and keeps __proto__ a member', () => {
    const parsed = JSON.parse(`{"${OPAQUE}": true, "__proto__": {"id": "p"}}`) as unknown;
    const { value, replaced } = redactJson(parsed);
    expect(JSON.stringify(value)).toBe(
      JSON.stringify({ [fingerprint(OPAQUE)]: true, ['__proto__']: { id: 'p' } }),
    );
    expect(replaced).toEqual([OPAQUE]);
  });
});

describe(Scrubber.name, () => {
  it('replaces known strings, parts of them, JWTs and opaque secrets in free text', () => {
    const scrubber = new Scrubber(['my-readable-token', 'short']);
    expect(scrubber.scrub('got "my-readable-token" and readable-token, short')).toBe(
      `got "${fingerprint('my-readable-token')}" and ${fingerprint('readable-token')}, short`,
    );
    expect(scrubber.scrub(`bad ${JWS}; ${OPAQUE}`)).toBe(
      `bad ${fingerprint(JWS)}; ${fingerprint(OPAQUE)}`,
    );
    expect(scrubber.scrub(`already ${fingerprint('x')}`)).toBe(`already ${fingerprint('x')}`);
  });
});

describe(redactSourceEvent.name, () => {
  const leaked = SOURCE_EVENT_SCHEMAS.siem.parse({
    id: 'siem-1',
    type: 'token.leaked',
    occurredAt: '2030-01-01T00:00:00.000Z',
    severity: 'high',
    token: OPAQUE,
  });

  it('replaces a leaked token by sha256:<tokenHash>, the fingerprint stored idempotency keys were made with', () => {
    const redacted = redactSourceEvent(leaked);
    expect(redacted).toEqual({ ...leaked, token: `sha256:${tokenHash(OPAQUE)}` });
    expect(JSON.stringify(redacted)).not.toContain(OPAQUE);
    // The same fingerprint a dead letter or a log line shows for that token.
    expect(redacted).toMatchObject({ token: fingerprint(OPAQUE) });
    expect(redactJson(leaked).value).toMatchObject({ token: fingerprint(OPAQUE) });
  });

  it('leaves an event without a token as it is', () => {
    const terminated = SOURCE_EVENT_SCHEMAS.hr.parse({
      id: 'hr-1',
      type: 'employee.terminated',
      occurredAt: '2030-01-01T00:00:00.000Z',
      subject: 'alice',
    });
    expect(redactSourceEvent(terminated)).toBe(terminated);
  });
});
