import { clientIssuer, tokenOwnership } from './token-ownership';

const A = 'https://idp-a.example';
const B = 'https://idp-b.example';

describe(tokenOwnership.name, () => {
  const client = { clientId: 'web-app', issuer: A };

  it('owns a token of its issuer issued to its id (client_id or azp)', () => {
    expect(tokenOwnership({ iss: A, client_id: 'web-app' }, client, [A, B])).toBe('owned');
    expect(tokenOwnership({ iss: A, azp: 'web-app' }, client, [A, B])).toBe('owned');
  });

  it("refuses another trusted issuer's token carrying the same client id (RFC 7009 §2.1)", () => {
    expect(tokenOwnership({ iss: B, client_id: 'web-app' }, client, [A, B])).toBe('other-issuer');
  });

  it("refuses its issuer's tokens of another client, or of none", () => {
    expect(tokenOwnership({ iss: A, client_id: 'other' }, client, [A, B])).toBe('other-client');
    expect(tokenOwnership({ iss: A }, client, [A, B])).toBe('other-client');
  });

  it('lets a client without an issuer act for the only trusted issuer, and for none of several', () => {
    const legacy = { clientId: 'web-app', issuer: null };
    expect(tokenOwnership({ iss: A, client_id: 'web-app' }, legacy, [A])).toBe('owned');
    expect(tokenOwnership({ iss: A, client_id: 'web-app' }, legacy, [A, B])).toBe('unbound');
    expect(tokenOwnership({ iss: A, client_id: 'web-app' }, legacy, [])).toBe('unbound');
  });
});

describe(clientIssuer.name, () => {
  it("is a bound client's own issuer, trusted or not (an untrusted one verifies no token)", () => {
    expect(clientIssuer({ issuer: B }, [A])).toBe(B);
  });
});
