import { clientCredentialsOf } from './client-credentials';
import { OAuthError } from './oauth-error';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function failure(run: () => unknown): { error: string; status: number } {
  try {
    run();
  } catch (e) {
    if (e instanceof OAuthError) {
      return { error: e.error, status: e.status };
    }
    throw e;
  }
  throw new Error('expected an OAuthError');
}

describe(clientCredentialsOf.name, () => {
  it('reads client_secret_basic, form-decoding id and secret (RFC 6749 §2.3.1)', () => {
    expect(clientCredentialsOf(basic('my+app%3Ax', 's%25cr%2Bt:z'), {})).toEqual({
      method: 'client_secret_basic',
      clientId: 'my app:x',
      clientSecret: 's%cr+t:z',
    });
  });

  it('accepts the scheme name in any case', () => {
    const header = basic('app', 'secret').replace('Basic', 'bAsIc');
    expect(clientCredentialsOf(header, {}).clientId).toBe('app');
  });

  it('reads client_secret_post', () => {
    expect(clientCredentialsOf(undefined, { client_id: 'app', client_secret: 's' })).toEqual({
      method: 'client_secret_post',
      clientId: 'app',
      clientSecret: 's',
    });
  });

  it('tolerates a client_id parameter beside Basic when it names the same client', () => {
    expect(clientCredentialsOf(basic('app', 's'), { client_id: 'app' }).method).toBe(
      'client_secret_basic',
    );
    expect(failure(() => clientCredentialsOf(basic('app', 's'), { client_id: 'other' }))).toEqual({
      error: 'invalid_request',
      status: 400,
    });
  });

  it('refuses two authentication methods in one request (RFC 6749 §2.3)', () => {
    expect(
      failure(() =>
        clientCredentialsOf(basic('app', 's'), { client_id: 'app', client_secret: 's' }),
      ),
    ).toEqual({ error: 'invalid_request', status: 400 });
  });

  it.each([
    ['no credentials at all', undefined, {}],
    ['a client_id without a secret', undefined, { client_id: 'app' }],
    ['a Bearer header', 'Bearer abc', {}],
    ['Basic without a colon', `Basic ${Buffer.from('app').toString('base64')}`, {}],
    ['Basic with an empty client id', basic('', 'secret'), {}],
    ['Basic with broken percent-encoding', basic('app', '%zz'), {}],
    ['Basic that is not base64', 'Basic ***', {}],
  ])('answers invalid_client (401) for %s', (_, header, params: Record<string, string>) => {
    expect(failure(() => clientCredentialsOf(header, params))).toEqual({
      error: 'invalid_client',
      status: 401,
    });
  });
});
