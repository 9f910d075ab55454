/**
 * Deterministic, realistic deny-list contents for the benchmarks.
 *
 * Rule `i` is a pure function of `i` (a PRNG seeded from it), so the benchmarks can stream
 * a million invalidation events through a DenyList without keeping them, and later derive
 * tokens that hit a given rule without having remembered it. Every event and every token is
 * built as JSON text and read back with JSON.parse, so its strings are what a Kafka consumer
 * or a JWT verifier would hand over (flat, freshly parsed, hash not yet computed).
 */
import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';

/** Fixed "now" so runs are comparable: 2026-01-01T00:00:00Z. */
export const NOW_MS = 1_767_225_600_000;
const HOUR_MS = 3_600_000;

/** Issuers of the simulated identity providers. */
export const ISSUERS = [
  'https://idp.example.com',
  'https://login.partner.example.org',
  'https://accounts.acme-corp.example',
] as const;

/** The signing keys in use; one older key has a `kid` rule. */
export const KIDS = ['key-2025-11', 'key-2025-12', 'key-2026-01'] as const;

/** A bijective 32-bit mix (the murmur3 finalizer). */
function mix(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * sfc32 whose 128-bit state is set from (`stream`, `index`): distinct pairs start in distinct
 * states, so the rules' and the tokens' streams never share values by accident (mulberry32's
 * 32-bit streams are shifts of one another and made "miss" tokens collide with rules).
 * Test data only, not for secrets.
 */
export function prng(stream: number, index: number): () => number {
  let a = mix(stream);
  let b = mix(index);
  let c = mix(index ^ 0x9e3779b9) ^ a;
  let d = 1;
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4_294_967_296;
  };
  for (let i = 0; i < 20; i += 1) {
    next();
  }
  return next;
}

const HEX = '0123456789abcdef';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function chars(random: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) {
    out += alphabet[Math.floor(random() * alphabet.length)];
  }
  return out;
}

function uuid(random: () => number): string {
  const h = chars(random, HEX, 32);
  const variant = HEX[8 + Math.floor(random() * 4)]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** A user id as IdPs mint them: UUIDs (Keycloak, Entra), 21 digits (Google), `auth0|hex`. */
function subject(random: () => number): string {
  const r = random();
  if (r < 0.4) {
    return uuid(random);
  }
  if (r < 0.7) {
    return `1${chars(random, '0123456789', 20)}`;
  }
  return `auth0|${chars(random, HEX, 24)}`;
}

export interface RuleSpec {
  claim: string;
  value: string;
  iss: string | null;
  revokedBefore: number | null;
  expiresAt: number | null;
}

/**
 * The rule mix of a busy deployment (shares of all rules):
 * 78% `sub` with `revokedBefore` (60% of them issuer-scoped), 12% `jti` (revoke one token,
 * `revokedBefore: null`, expires with the token), 6% `sid` (one session), 3% `client_id` with
 * `revokedBefore`, 1% `token_hash` (opaque tokens). `ruleAt(0)` is a `kid` rule on a retired
 * key and `ruleAt(1)` an `iss` rule "everything issued before 2025-06-01": every token's
 * `kid` and `iss` claims then have rules to look up, as in production.
 */
export function ruleAt(i: number): RuleSpec {
  if (i === 0) {
    return { claim: 'kid', value: 'key-2025-06', iss: null, revokedBefore: null, expiresAt: null };
  }
  if (i === 1) {
    const revokedBefore = Date.UTC(2025, 5, 1);
    return {
      claim: 'iss',
      value: ISSUERS[2],
      iss: null,
      revokedBefore,
      expiresAt: revokedBefore + HOUR_MS,
    };
  }
  const random = prng(1, i);
  const kind = random();
  const scoped = (share: number): string | null =>
    random() < share ? ISSUERS[Math.floor(random() * ISSUERS.length)]! : null;
  // A revocation within the last hour; its tokens live at most one hour.
  const revokedBefore = NOW_MS - Math.floor(random() * HOUR_MS);
  if (kind < 0.78) {
    const iss = scoped(0.6);
    return {
      claim: 'sub',
      value: subject(random),
      iss,
      revokedBefore,
      expiresAt: revokedBefore + HOUR_MS,
    };
  }
  if (kind < 0.9) {
    const value = random() < 0.7 ? uuid(random) : chars(random, B64URL, 22);
    return {
      claim: 'jti',
      value,
      iss: scoped(0.3),
      revokedBefore: null,
      expiresAt: NOW_MS + Math.floor(random() * HOUR_MS),
    };
  }
  if (kind < 0.96) {
    return {
      claim: 'sid',
      value: chars(random, HEX, 32),
      iss: scoped(0.5),
      revokedBefore: null,
      expiresAt: NOW_MS + HOUR_MS,
    };
  }
  if (kind < 0.99) {
    return {
      claim: 'client_id',
      value: `app-${chars(random, HEX, 12)}`,
      iss: scoped(0.5),
      revokedBefore,
      expiresAt: revokedBefore + HOUR_MS,
    };
  }
  return {
    claim: 'token_hash',
    value: chars(random, B64URL, 43),
    iss: null,
    revokedBefore: null,
    expiresAt: NOW_MS + HOUR_MS,
  };
}

/** The invalidation event for rule `i`, as JSON text exactly as the writer publishes it. */
export function eventText(i: number, seq: number): string {
  const rule = ruleAt(i);
  const random = prng(2, seq);
  const event = {
    v: 1,
    type: 'rule.set',
    key: ruleKey(rule),
    seq,
    revocationId: uuid(random),
    committedAt: NOW_MS,
    rule,
  };
  return JSON.stringify(event);
}

/** Parses an event the way the benchmarks feed the DenyList (no schema validation). */
export function parseEvent(text: string): InvalidationEventV1 {
  return JSON.parse(text) as InvalidationEventV1;
}

/** What a verified JWT payload looks like to `check` (plus `kid` from the header). */
export interface TokenPayload {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  sid: string;
  client_id: string;
  scope: string;
  kid: string;
  [claim: string]: unknown;
}

export type TokenKind = 'miss' | 'hit-revoked' | 'hit-spared';

/**
 * JSON text of a token payload.
 * - `miss`: matches no rule (the overwhelming majority of traffic). Its `kid` and `iss` still
 *   have rules, which do not revoke it.
 * - `hit-revoked`: one claim equals the value of rule `ruleIndex` and the token was issued before
 *   the rule's `revokedBefore` (so it is revoked).
 * - `hit-spared`: same, but issued after `revokedBefore` (a user who logged in again after the
 *   revocation); only meaningful for rules with `revokedBefore`.
 */
export function tokenText(kind: TokenKind, ruleIndex: number, salt: number): string {
  const random = prng(3, salt);
  const iss = ISSUERS[Math.floor(random() * ISSUERS.length)]!;
  const token: TokenPayload = {
    iss,
    sub: subject(random),
    aud: 'api://orders',
    exp: Math.floor(NOW_MS / 1000) + 900,
    iat: Math.floor(NOW_MS / 1000) - 2700,
    jti: uuid(random),
    sid: chars(random, HEX, 32),
    client_id: `app-${chars(random, HEX, 12)}`,
    scope: 'orders:read orders:write',
    kid: KIDS[Math.floor(random() * KIDS.length)]!,
  };
  if (kind !== 'miss') {
    const rule = ruleAt(ruleIndex);
    token[rule.claim] = rule.value;
    if (rule.iss !== null) {
      token.iss = rule.iss;
    }
    const rb = rule.revokedBefore ?? NOW_MS;
    token.iat =
      kind === 'hit-revoked'
        ? Math.floor((rb - 1000 - Math.floor(random() * 600_000)) / 1000)
        : Math.floor(rb / 1000) + 1 + Math.floor(random() * 60);
  }
  return JSON.stringify(token);
}

/** Indices of rules with `revokedBefore` (for `hit-spared` tokens), from a deterministic scan. */
export function pickRules(
  count: number,
  total: number,
  seed: number,
  accept: (rule: RuleSpec) => boolean,
): number[] {
  const random = prng(4, seed);
  const picked: number[] = [];
  while (picked.length < count) {
    const i = 2 + Math.floor(random() * (total - 2));
    if (accept(ruleAt(i))) {
      picked.push(i);
    }
  }
  return picked;
}
