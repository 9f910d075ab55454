import { z } from 'zod';

const NUL = String.fromCharCode(0);
/** Any surrogate code unit: the fast test before the precise one. */
const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `text` cannot be stored and read back exactly as sent, or undefined when it can:
 * - U+0000: PostgreSQL `text` cannot hold it (`invalid byte sequence for encoding "UTF8": 0x00`);
 * - a lone surrogate (half of a UTF-16 pair, which JSON and JWTs can carry): it is not Unicode
 *   text, has no UTF-8 form and would be stored as U+FFFD, i.e. as another string than the one a
 *   rule key was computed from.
 * Indexes are UTF-16 code units, as JavaScript counts them.
 *
 * @example
 * unstorableText('a\u0000b') // 'must not contain U+0000 (NUL, at index 1): PostgreSQL cannot store it'
 */
export function unstorableText(text: string): string | undefined {
  const nul = text.indexOf(NUL);
  const lone = SURROGATE.test(text) ? LONE_SURROGATE.exec(text) : null;
  if (nul >= 0 && (lone === null || nul < lone.index)) {
    return `must not contain U+0000 (NUL, at index ${nul}): PostgreSQL cannot store it`;
  }
  if (lone === null) {
    return undefined;
  }
  const unit = lone[0].charCodeAt(0).toString(16).toUpperCase();
  return `must not contain a lone surrogate (U+${unit} at index ${lone.index}): it is not Unicode text, and would be stored as U+FFFD instead of what was sent`;
}

/**
 * A string field that every store and every reader keeps exactly as sent: between `min` (default
 * 1) and `max` UTF-16 code units, without U+0000 or lone surrogates ({@link unstorableText}).
 * `trim` trims white space first (free text such as a reason). Nothing else is changed: claims are
 * compared exactly, as JWT claims are (RFC 7519 §7.3), so no Unicode normalisation either.
 * Every identifier and free-text field of the contracts and of the writer's API uses it.
 *
 * @example
 * const Subject = storableText({ max: 255 });
 * Subject.parse('alice'); // 'alice'
 * Subject.safeParse('a\u0000b').success; // false
 */
export function storableText(options: { max: number; min?: number; trim?: boolean }): z.ZodString {
  const base = options.trim === true ? z.string().trim() : z.string();
  return base
    .min(options.min ?? 1)
    .max(options.max)
    .check((ctx) => {
      const problem = unstorableText(ctx.value);
      if (problem !== undefined) {
        ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
      }
    });
}
