import { OAuthError } from './oauth-error';

/** Parameters of an `application/x-www-form-urlencoded` OAuth request, each present once. */
export type FormParameters = Readonly<Record<string, string>>;

const FORM = 'application/x-www-form-urlencoded';

/**
 * The request's form parameters (Fastify has parsed the body into an object of strings, or of
 * arrays for repeated names). RFC 7009 §2.1 / RFC 7662 §2.1: the body is form-encoded.
 * RFC 6749 §3.1: a parameter without a value counts as omitted; §3.2: none may repeat.
 */
export function formParameters(contentType: string | undefined, body: unknown): FormParameters {
  if (body === undefined || body === null) {
    return {};
  }
  if (contentType?.split(';')[0]?.trim().toLowerCase() !== FORM || typeof body !== 'object') {
    throw new OAuthError('invalid_request', `the request body must be ${FORM}`);
  }
  const parameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value !== 'string') {
      throw new OAuthError('invalid_request', `parameter "${name}" must be given once`);
    }
    if (value !== '') {
      parameters[name] = value;
    }
  }
  return parameters;
}

export function requiredParameter(parameters: FormParameters, name: string): string {
  const value = parameters[name];
  if (value === undefined) {
    throw new OAuthError('invalid_request', `missing required parameter "${name}"`);
  }
  return value;
}
