import { formParameters, requiredParameter } from './form-parameters';
import { OAuthError } from './oauth-error';

const FORM = 'application/x-www-form-urlencoded';

describe(formParameters.name, () => {
  it('keeps string parameters and drops empty ones (RFC 6749 §3.1)', () => {
    expect(formParameters(`${FORM}; charset=utf-8`, { token: 't', token_type_hint: '' })).toEqual({
      token: 't',
    });
  });

  it('treats a request without a body as having no parameters', () => {
    expect(formParameters(undefined, undefined)).toEqual({});
  });

  it('refuses a repeated parameter (RFC 6749 §3.2)', () => {
    expect(() => formParameters(FORM, { token: ['a', 'b'] })).toThrow(OAuthError);
  });

  it('refuses a body that is not form-encoded', () => {
    expect(() => formParameters('application/json', { token: 't' })).toThrow(
      /x-www-form-urlencoded/,
    );
  });
});

describe(requiredParameter.name, () => {
  it('returns the value or throws invalid_request naming the parameter', () => {
    expect(requiredParameter({ token: 't' }, 'token')).toBe('t');
    const missing = () => requiredParameter({}, 'token');
    expect(missing).toThrow(OAuthError);
    expect(missing).toThrow('missing required parameter "token"');
  });
});
