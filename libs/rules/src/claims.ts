/**
 * The client a token was issued to: `client_id` (RFC 9068 §2.2), else OpenID Connect's
 * authorized party `azp`. Strings only; a `client_id` of another type is not a client and does
 * not fall back to `azp`.
 *
 * @example
 * tokenClient({ azp: 'app' }); // 'app'
 * tokenClient({ client_id: 'a', azp: 'b' }); // 'a'
 */
export function tokenClient(claims: { readonly [claim: string]: unknown }): string | undefined {
  const client = claims.client_id ?? claims.azp;
  return typeof client === 'string' ? client : undefined;
}

/**
 * The value a rule on `claim` matches in these claims, exactly as `DenyList.check` reads it:
 * the claim of that name if it is a string, and for `client_id` the {@link tokenClient}.
 *
 * @example
 * tokenClaim({ sub: 'alice', azp: 'app' }, 'client_id'); // 'app'
 * tokenClaim({ sub: 42 }, 'sub'); // undefined
 */
export function tokenClaim(
  claims: { readonly [claim: string]: unknown },
  claim: string,
): string | undefined {
  const value = claim === 'client_id' ? tokenClient(claims) : claims[claim];
  return typeof value === 'string' ? value : undefined;
}
