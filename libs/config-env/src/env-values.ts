import { z } from 'zod';

/**
 * A boolean variable: `true`/`false`, `1`/`0` or `yes`/`no`; anything else is refused rather than
 * read as false.
 *
 * @example
 * const Env = z.object({ KAFKA_SSL: bool.default(false) });
 */
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * An integer variable between `min` and `max` (inclusive).
 *
 * @example
 * const Env = z.object({ PORT: int(0, 65535).default(3000) });
 */
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * A variable holding JSON, validated by `schema` once parsed; text that is not JSON is refused
 * with `must be valid JSON`.
 *
 * @example
 * const Env = z.object({ ISSUERS: json(z.array(z.object({ issuer: z.string() }))).default([]) });
 */
export const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/**
 * A comma-separated list, items trimmed and empty ones dropped, then validated by `items`. With
 * `noneWord`, the word `none` stands for the empty list (a variable whose unset value is a
 * non-empty default needs a way to say "none").
 *
 * @example
 * const Env = z.object({ SOURCES: commaList(z.array(z.enum(['hr', 'idp'])), true).default(['hr']) });
 */
export const commaList = <Out>(items: z.ZodType<Out, string[]>, noneWord = false) =>
  z
    .string()
    .transform((v) =>
      noneWord && v.trim() === 'none'
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    )
    .pipe(items);

/**
 * A comma-separated list of at least one non-empty string (`a:9092, b:9092`).
 *
 * @example
 * const Env = z.object({ KAFKA_BROKERS: list.default(['127.0.0.1:9092']) });
 */
export const list = commaList(z.array(z.string().min(1)).min(1));

/**
 * A JWS algorithm an app may accept for an issuer's tokens: asymmetric ones only. An
 * enforcement point never shares a secret with the issuer, and `none` is never acceptable.
 *
 * @example
 * const Env = z.object({ JWT_ALGORITHMS: list.pipe(z.array(asymmetricJwsAlgorithm)) });
 */
export const asymmetricJwsAlgorithm = z.enum([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);
