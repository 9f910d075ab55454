import { loadConfig } from '../config/config';
import { InvalidEventError } from '../errors';
import { mapHrEvent } from '../ingest/source-event.mapper';
import { mapSecurityEvents } from '../ssf/set-event.mapper';
import { assertPublishable } from './publishable-rules';
import type { RuleSpec } from './stored-rule';
import { RulePolicy } from './rule-policy';

const NOW = 1_700_000_000_000;
const policy = new RulePolicy(loadConfig({ INGEST_AUTH_DISABLED: 'true' }));
const spec = (over: Partial<RuleSpec> = {}): RuleSpec => ({
  claim: 'sub',
  value: 'alice',
  iss: null,
  revokedBefore: NOW,
  expiresAt: null,
  ...over,
});

/** The problems assertPublishable throws, or [] when it passes. */
function problemsOf(rules: RuleSpec[]) {
  try {
    assertPublishable(rules);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).retriable).toBe(false);
    return (error as InvalidEventError).errors;
  }
}

describe(assertPublishable.name, () => {
  it('lets publishable rules through', () => {
    expect(problemsOf([spec(), spec({ claim: 'jti', value: 'x'.repeat(1024) })])).toEqual([]);
  });

  it('names every offending member in the operator API shape (/rules/<index>/...) without an origin', () => {
    expect(
      problemsOf([spec(), spec({ value: 'a\u0000b' }), spec({ value: '漢'.repeat(1024) })]),
    ).toEqual([
      {
        pointer: '/rules/1/value',
        detail: 'must not contain U+0000 (NUL, at index 1): PostgreSQL cannot store it',
      },
      {
        pointer: '/rules/2/value',
        detail: 'encodes to a rule key of 9,221 characters; the limit is 2,048',
      },
    ]);
  });

  it('names the member the value and issuer came from (HR: /subject, /iss, /employeeId)', () => {
    const ctx = {
      receivedAtMs: NOW,
      policy,
      employees: new Map([['e-1', { subject: 'a\ud800' }]]),
    };
    const event = {
      id: 'hr-1',
      type: 'employee.terminated' as const,
      occurredAt: '2026-11-22T09:30:00Z',
    };
    const iss = `https://idp.example/${'/'.repeat(2000)}`;
    expect(problemsOf(mapHrEvent({ ...event, subject: 'alice', iss }, ctx).rules)).toEqual([
      { pointer: '/iss', detail: expect.stringMatching(/^encodes to a rule key of 6,/) as string },
    ]);
    expect(problemsOf(mapHrEvent({ ...event, employeeId: 'e-1' }, ctx).rules)).toEqual([
      { pointer: '/employeeId', detail: expect.stringMatching(/lone surrogate/) as string },
    ]);
  });

  it("names the value when an issuer the input did not name (the credential's) makes the key too long", () => {
    const rule = spec({
      value: 'x'.repeat(1000),
      iss: 'i'.repeat(1500),
      origin: { value: '/subject' },
    });
    expect(problemsOf([rule])).toEqual([
      {
        pointer: '/subject',
        detail: 'encodes to a rule key of 2,505 characters; the limit is 2,048',
      },
    ]);
  });

  it('names the member of a SET the subject came from', () => {
    const type = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
    const mapped = mapSecurityEvents(
      {
        [type]: {
          subject: { format: 'complex', session: { format: 'opaque', id: 's\u0000' } },
        },
      },
      undefined,
      NOW,
      policy,
    );
    expect(problemsOf(mapped.rules)).toEqual([
      {
        pointer: `/events/${type.replace(/\//g, '~1')}/subject/session/id`,
        detail: expect.stringMatching(/U\+0000/) as string,
      },
    ]);
    const user = mapSecurityEvents(
      { [type]: {} },
      { format: 'iss_sub', iss: 'https://idp.example', sub: '漢'.repeat(300) },
      NOW,
      policy,
    );
    expect(problemsOf(user.rules)).toEqual([
      { pointer: '/sub_id/sub', detail: expect.stringMatching(/^encodes to a rule key/) as string },
    ]);
  });
});
