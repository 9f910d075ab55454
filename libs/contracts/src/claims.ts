import { z } from 'zod';

/**
 * Token claims a rule can match. `token_hash` is the SHA-256 (base64url) of an opaque
 * token: the token itself is never stored or sent.
 */
export const STANDARD_RULE_CLAIMS = [
  'jti',
  'sub',
  'client_id',
  'sid',
  'iss',
  'kid',
  'token_hash',
] as const;
export type StandardRuleClaim = (typeof STANDARD_RULE_CLAIMS)[number];

/**
 * A claim name: one of the standard ones or a custom claim configured on the writer
 * (e.g. `device_id`, `tenant`). Lower-case identifiers only, so keys stay unambiguous.
 */
export const RuleClaimSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a lower-case claim name such as "sub" or "device_id"');
export type RuleClaim = z.infer<typeof RuleClaimSchema>;
