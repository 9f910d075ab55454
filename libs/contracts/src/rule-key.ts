/**
 * The identity of a rule: which claim, which value, and optionally which issuer.
 * Two rules with the same key are versions of one rule; the one with the higher
 * `seq` wins.
 */
export interface RuleIdentity {
  claim: string;
  value: string;
  /** Restrict the rule to tokens from this issuer; `null`/absent = any issuer. */
  iss?: string | null;
}

/**
 * The rule key: `claim:issuer:value`, each part percent-encoded so that the key is
 * injective (no two identities share a key) and readable in Kafka tooling.
 * An issuer-independent rule has an empty issuer part: `sub::alice`.
 *
 * @example
 * ruleKey({ claim: 'sub', value: 'alice', iss: 'https://idp.example' })
 * // 'sub:https%3A%2F%2Fidp.example:alice'
 */
export function ruleKey(rule: RuleIdentity): string {
  return `${encodePart(rule.claim)}:${rule.iss ? encodePart(rule.iss) : ''}:${encodePart(rule.value)}`;
}

/**
 * The longest rule key, in characters. Keys are ASCII (every part is percent-encoded), so this is
 * also their length in bytes, and it bounds what a rule may name: percent-encoding grows ASCII
 * punctuation 3 times (`/` is `%2F`) and other characters 3 times per UTF-8 byte (a CJK character
 * is 9 key characters), so a 1,024-character value can need far more than 2,048.
 *
 * Why 2048: the writer keeps the key in PostgreSQL btree indexes (`revocation_rule.rule_key`
 * UNIQUE, `audit_log (rule_key, id)`), and a btree entry may take at most 2704 bytes (btree
 * version 4, 8 kB pages) or the insert fails. PostgreSQL may compress an entry first, but a key
 * of random characters does not compress, so only the plain size counts. The largest entry holds
 * the key and the audit row's bigint id: 8 bytes of tuple header, 4 of text header, the key,
 * padding to 8, 8 of id, i.e. at most 2,072 bytes for a 2,048-byte key, under 2704 with room to
 * spare. The index on `(claim, value)` fits too: a value's UTF-8 bytes never outnumber its
 * encoded characters, so claim and value together are shorter than the key. The largest power of
 * two that fits; the envelope of every invalidation event (`key`) carries the same limit.
 */
export const MAX_RULE_KEY_LENGTH = 2048;

/** Which part of a rule key is too long, and how long the key is. */
export interface RuleKeyLengthProblem {
  /** The longer of the two free parts: shortening it helps most. */
  field: 'value' | 'iss';
  /** Characters of the whole key. */
  length: number;
  /** For humans: `encodes to a rule key of 9,233 characters; the limit is 2,048`. */
  detail: string;
}

/**
 * Why `rule` cannot be published (its key is longer than {@link MAX_RULE_KEY_LENGTH}), or
 * undefined when its key fits.
 *
 * @example
 * ruleKeyLengthProblem({ claim: 'sub', value: '漢'.repeat(1024) })
 * // { field: 'value', length: 9221, detail: 'encodes to a rule key of 9,221 characters; the limit is 2,048' }
 */
export function ruleKeyLengthProblem(rule: RuleIdentity): RuleKeyLengthProblem | undefined {
  const claim = encodePart(rule.claim).length;
  const iss = rule.iss ? encodePart(rule.iss).length : 0;
  const value = encodePart(rule.value).length;
  const length = claim + iss + value + 2;
  if (length <= MAX_RULE_KEY_LENGTH) {
    return undefined;
  }
  return {
    field: iss > value ? 'iss' : 'value',
    length,
    detail: `encodes to a rule key of ${thousands(length)} characters; the limit is ${thousands(MAX_RULE_KEY_LENGTH)}`,
  };
}

const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Percent-encoding, total: a lone surrogate (which JSON and JWTs can carry, and which
 * `encodeURIComponent` refuses) becomes `%uXXXX`, a form percent-encoding never produces, so
 * the key stays injective.
 */
function encodePart(part: string): string {
  if (!SURROGATE.test(part)) {
    return encodeURIComponent(part);
  }
  let out = '';
  let last = 0;
  for (const match of part.matchAll(LONE_SURROGATE)) {
    out += encodeURIComponent(part.slice(last, match.index));
    out += `%u${match[0].charCodeAt(0).toString(16).toUpperCase()}`;
    last = match.index + 1;
  }
  return out + encodeURIComponent(part.slice(last));
}
