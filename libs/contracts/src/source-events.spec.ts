import { HrEventV1Schema, IdpEventV1Schema, SiemEventV1Schema } from './source-events';

const hr = (fields: Record<string, unknown>) => ({
  id: 'hr-1',
  type: 'employee.terminated',
  occurredAt: '2026-11-22T09:30:00Z',
  subject: 'alice',
  ...fields,
});

/** Every problem as `pointer message`. */
function problems(result: {
  success: boolean;
  error?: { issues: Array<{ path: PropertyKey[]; message: string }> };
}) {
  return (result.error?.issues ?? []).map((i) => `/${i.path.join('/')} ${i.message}`);
}

describe('source event text', () => {
  it.each([
    ['HR subject', HrEventV1Schema, hr({ subject: 'a\u0000b' }), '/subject'],
    [
      'HR employeeId',
      HrEventV1Schema,
      hr({ subject: undefined, employeeId: '\ud800' }),
      '/employeeId',
    ],
    [
      'IdP sid',
      IdpEventV1Schema,
      { id: 'i', type: 'session.revoked', occurredAt: '2026-11-22T09:30:00Z', sid: 'x\u0000' },
      '/sid',
    ],
    [
      'SIEM playbookId',
      SiemEventV1Schema,
      {
        id: 's',
        type: 'session.hijacked',
        occurredAt: '2026-11-22T09:30:00Z',
        severity: 'high',
        sid: 's-1',
        playbookId: 'pb\u0000',
      },
      '/playbookId',
    ],
  ])(
    'refuses text PostgreSQL cannot store as sent, naming the member: %s',
    (_, schema, event, pointer) => {
      const found = problems(schema.safeParse(event));
      expect(found).toEqual([
        expect.stringMatching(new RegExp(`^${pointer} must not contain`)) as string,
      ]);
    },
  );

  it('keeps identifiers exactly as sent: no trimming, no Unicode normalisation', () => {
    const nfd = ' Jose\u0301 ';
    expect(HrEventV1Schema.parse(hr({ subject: nfd })).subject).toBe(nfd);
  });
});

describe('source event iss', () => {
  it.each([
    'https://idp.example',
    'https://idp.example/',
    'https://login.example.com/tenant-1/v2.0',
    'http://127.0.0.1:8080/realms/main',
  ])('accepts the issuer URL %j unchanged', (iss) => {
    expect(HrEventV1Schema.parse(hr({ iss })).iss).toBe(iss);
  });

  it.each([
    [' https://idp.example', 'leading space (a URL parser drops it)'],
    ['https://idp.exa\tmple', 'a tab (a URL parser drops it)'],
    ['https://idp.example\n', 'a trailing newline'],
    ['https://idp.example\\realm', 'a backslash (read as /)'],
    ['https://user:secret@idp.example', 'userinfo'],
    ['https://idp.example?tenant=1', 'a query'],
    ['https://idp.example#x', 'a fragment'],
    ['https://idp.example/\u007f', 'DEL, a control character'],
    ['https://idp.example/\u0085', 'NEL, a control character (not white space to \\s)'],
    ['ftp://idp.example', 'another scheme'],
    ['idp.example', 'no scheme'],
  ])('refuses %j (%s) instead of rewriting it', (iss) => {
    expect(problems(HrEventV1Schema.safeParse(hr({ iss })))).toEqual([
      '/iss must be an http(s) issuer URL such as https://idp.example, without white space, userinfo, query or fragment',
    ]);
  });

  it('names a NUL in the issuer once, as text PostgreSQL cannot store', () => {
    expect(problems(HrEventV1Schema.safeParse(hr({ iss: 'https://idp.example/\u0000' })))).toEqual([
      '/iss must not contain U+0000 (NUL, at index 20): PostgreSQL cannot store it',
    ]);
  });
});
