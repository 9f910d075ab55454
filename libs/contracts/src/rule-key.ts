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
