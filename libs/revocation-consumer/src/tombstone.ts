import { ruleKey } from '@rescind/contracts';
import { isExpired, type RuleVersion } from '@rescind/rules';

/** The rule identity a rule key names. */
export interface KeyIdentity {
  claim: string;
  value: string;
  iss: string | null;
}

const LONE_SURROGATE_ESCAPE = /%u([0-9A-F]{4})/g;

/** Undoes one part of `ruleKey`'s encoding: percent-encoding, plus `%uXXXX` for lone surrogates. */
function decodePart(part: string): string {
  let out = '';
  let last = 0;
  for (const match of part.matchAll(LONE_SURROGATE_ESCAPE)) {
    out += decodeURIComponent(part.slice(last, match.index));
    out += String.fromCharCode(parseInt(match[1]!, 16));
    last = match.index + match[0].length;
  }
  return out + decodeURIComponent(part.slice(last));
}

/**
 * The identity of a tombstone's key (a tombstone has no value to read it from), or undefined when
 * the key is not a rule key. Checked by encoding it again with `ruleKey`, the one key function of
 * libs/contracts: only an exact inverse is accepted.
 *
 * @example
 * identityOfKey('sub:https%3A%2F%2Fidp.example:alice');
 * // { claim: 'sub', value: 'alice', iss: 'https://idp.example' }
 */
export function identityOfKey(key: string): KeyIdentity | undefined {
  const parts = key.split(':');
  if (parts.length !== 3) {
    return undefined;
  }
  try {
    const [claim, iss, value] = parts.map(decodePart) as [string, string, string];
    const identity = { claim, value, iss: iss === '' ? null : iss };
    return claim !== '' && value !== '' && ruleKey(identity) === key ? identity : undefined;
  } catch {
    return undefined; // malformed percent-encoding
  }
}

/** What a tombstone does to the version held for its key. */
export type TombstoneOutcome = 'removed' | 'absent' | 'ignored';

/**
 * Tombstones carry no `seq`, so they cannot be ordered against the version held. The writer
 * only writes one for a rule that expired, so removing the held version is safe exactly when it
 * has expired by this host's clock too: no token it matches is still valid. A held version that
 * has not (this clock behind the writer's, or a newer version that overtook the tombstone) is
 * kept, and the tombstone ignored; local pruning drops it once it expires here.
 *
 * @example
 * tombstoneOutcome(list.get(claim, value, iss), Date.now()); // 'removed' | 'absent' | 'ignored'
 */
export function tombstoneOutcome(held: RuleVersion | undefined, nowMs: number): TombstoneOutcome {
  if (held === undefined) {
    return 'absent';
  }
  return isExpired(held.expiresAt, nowMs) ? 'removed' : 'ignored';
}
