import type { FormParameters } from './form-parameters';
import { invalidClient, OAuthError } from './oauth-error';

export interface ClientCredentials {
  method: 'client_secret_basic' | 'client_secret_post';
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they become user and password. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw invalidClient('malformed percent-encoding in the client credentials');
  }
}

function basicCredentials(authorization: string): Omit<ClientCredentials, 'method'> {
  // RFC 7617: token68 after the case-insensitive scheme name.
  const encoded = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization)?.[1];
  if (encoded === undefined) {
    throw invalidClient('unsupported or malformed Authorization header; use HTTP Basic');
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) {
    throw invalidClient('malformed HTTP Basic credentials');
  }
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  };
}

/**
 * The client credentials of a request: `client_secret_basic` or `client_secret_post`.
 * RFC 6749 §2.3: a client MUST NOT use more than one method in a request. Only confidential
 * clients are registered, so a request without a secret fails authentication (§2.3.1).
 */
export function clientCredentialsOf(
  authorization: string | undefined,
  parameters: FormParameters,
): ClientCredentials {
  const { client_id: postId, client_secret: postSecret } = parameters;
  if (authorization !== undefined) {
    if (postSecret !== undefined) {
      throw new OAuthError('invalid_request', 'use one client authentication method, not two');
    }
    const basic = basicCredentials(authorization);
    // A client_id parameter beside Basic is tolerated when it names the same client.
    if (postId !== undefined && postId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (postId === undefined || postSecret === undefined) {
    throw invalidClient('client authentication is required');
  }
  return { method: 'client_secret_post', clientId: postId, clientSecret: postSecret };
}
