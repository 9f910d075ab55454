import { asymmetricJwsAlgorithm } from '@rescind/config-env';
import { z } from 'zod';

// The parties whose signatures the writer accepts, as the JSON values of ISSUERS and
// SSF_TRANSMITTERS (env-schema.ts) hold them.

/**
 * Where a token issuer's or SET transmitter's signing keys come from: a JWKS URL (fetched by jose,
 * cached, refreshed on an unknown kid) or the JWK Set itself; and which JWS algorithms are
 * accepted. Never `none`, never HMAC (no secrets are shared with issuers).
 */
const SigningKeys = {
  jwksUri: z.url({ protocol: /^https?$/ }).optional(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
  algorithms: z.array(asymmetricJwsAlgorithm).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
};
const oneKeySource = [
  (k: { jwksUri?: string; jwks?: unknown }) => (k.jwksUri === undefined) !== (k.jwks === undefined),
  { message: 'give exactly one of jwksUri or jwks' },
] as const;

/**
 * How the writer reaches an issuer's identity provider. Every call authenticates as this client
 * (`client_secret_basic`, RFC 6749 §2.3.1), is bounded by `timeoutMs` and retried up to
 * `attempts` times with back-off. Example: `{"clientId": "rescind", "clientSecret": "…",
 * "revocationEndpoint": "https://idp.example/token/revocation", "introspectionEndpoint":
 * "https://idp.example/token/introspection"}`.
 */
const UpstreamSchema = z
  .object({
    clientId: z.string().min(1),
    /** A secret: never logged. */
    clientSecret: z.string().min(1),
    /** RFC 7009 revocation endpoint: refresh tokens sent to /oauth/revoke are revoked here. */
    revocationEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** RFC 7662 introspection endpoint: what a refresh token belongs to (sub, sid, client). */
    introspectionEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * draft-parecki-oauth-global-token-revocation endpoint: called after every subject-wide
     * revocation of this issuer's subjects, so the IdP ends their sessions and refresh tokens.
     */
    globalRevocationEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * Token endpoint for a client-credentials bearer token to the global revocation endpoint
     * (with `globalRevocationScope`). Without it, that endpoint gets `client_secret_basic` too.
     */
    tokenEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    globalRevocationScope: z.string().min(1).optional(),
    /** One upstream request is abandoned after this long (ms). */
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    /** Tries per upstream call on a request path (RFC 7009), back-off between them. */
    attempts: z.number().int().min(1).max(10).default(3),
  })
  .refine((u) => u.revocationEndpoint === undefined || u.introspectionEndpoint !== undefined, {
    message: 'revocationEndpoint needs introspectionEndpoint (to learn the session it ends)',
    path: ['introspectionEndpoint'],
  });
export type UpstreamConfig = z.infer<typeof UpstreamSchema>;

export const IssuerSchema = z
  .object({
    /** The `iss` value of the issuer's tokens. */
    issuer: z.string().min(1),
    ...SigningKeys,
    /** Longest lifetime of any token of this issuer (seconds): rules on it expire this long after. */
    maxTokenLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(400 * 86_400)
      .default(86_400),
    /**
     * Which grant claims the issuer's access tokens carry. `auth_time`: when the user
     * authenticated, kept unchanged in tokens minted later by refresh (RFC 9068 §2.2.1); it lets
     * a subject-wide revocation reject tokens of earlier grants while a new login is accepted.
     * `sid`: the session, so a revoked session or refresh token takes its access tokens down.
     * Without `auth_time`, a subject-wide revocation must block every token of the subject for
     * the longest grant lifetime, new logins included (see the README).
     */
    tokenClaims: z.array(z.enum(['auth_time', 'sid'])).default([]),
    /** Absolute lifetime of the issuer's sessions (seconds): how long a session can mint tokens. */
    sessionLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(400 * 86_400)
      .default(14 * 86_400),
    /**
     * Absolute lifetime of a grant kept alive by refresh tokens (seconds), rotation included:
     * how long after the login a refresh token can still mint access tokens.
     */
    refreshTokenLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(400 * 86_400)
      .default(14 * 86_400),
    /** The issuer's own OAuth endpoints, for revoking refresh tokens and grants at the source. */
    upstream: UpstreamSchema.optional(),
  })
  .refine(...oneKeySource);
export type IssuerConfig = z.infer<typeof IssuerSchema>;

/** An integer inside a JSON setting (the env `int` coerces strings; JSON has real numbers). */
const jsonInt = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * RFC 8936 poll-based delivery from one transmitter, for transmitters that cannot push (or
 * receivers that cannot be reached): the writer asks the transmitter's poll endpoint for SETs,
 * and acknowledges each one only after its revocation committed. Example:
 * `{"endpoint": "https://tx.example.com/ssf/poll", "authorization": "Bearer …"}`.
 */
const PollSchema = z.object({
  /** The transmitter's poll endpoint (from its stream configuration, `delivery.endpoint_url`). */
  endpoint: z.url({ protocol: /^https?$/ }),
  /**
   * Sent verbatim as the `Authorization` header of every poll request (e.g. `Bearer …`): how the
   * transmitter authenticates us (RFC 8936 leaves the scheme to the deployment). A secret:
   * it is never logged.
   */
  authorization: z
    .string()
    .min(1)
    .regex(/^[^\r\n]+$/, 'must be a single-line header value')
    .optional(),
  /** Pause between polls when the transmitter has nothing more (ms). */
  intervalMs: jsonInt(10, 3_600_000).default(1000),
  /** `maxEvents` of each poll request: at most this many SETs per response. */
  maxEvents: jsonInt(1, 10_000).default(100),
  /** One poll request is abandoned after this long (ms) and retried with back-off. */
  timeoutMs: jsonInt(100, 300_000).default(10_000),
  /**
   * Cap of the exponential back-off (ms) while the transmitter is unreachable, answers an error,
   * or PostgreSQL is: polling never stops, it slows down. Never shorter than `intervalMs`.
   */
  maxBackoffMs: jsonInt(10, 3_600_000).default(30_000),
  /**
   * Largest poll response read (bytes, after any content decoding; default 10 MiB). A larger one
   * is abandoned as soon as it passes this size and the poll is retried with back-off: a broken or
   * hostile transmitter cannot make the writer buffer without bound. Leave room for `maxEvents`
   * SETs.
   */
  maxResponseBytes: jsonInt(1024, 268_435_456).default(10_485_760),
});
export type PollConfig = z.infer<typeof PollSchema>;

export const TransmitterSchema = z
  .object({
    /** The transmitter's `iss`. */
    issuer: z.string().min(1),
    /** The `aud` it addresses SETs to (us). */
    audience: z.string().min(1),
    ...SigningKeys,
    /**
     * Optional RFC 8936 polling. Without it the transmitter pushes (RFC 8935, POST /ssf/events);
     * with it the writer also polls. Push stays open either way: both end in the same use case
     * and the same `jti` idempotency key.
     */
    poll: PollSchema.optional(),
  })
  .refine(...oneKeySource);
export type TransmitterConfig = z.infer<typeof TransmitterSchema>;
