import type { SourceEventV1 } from '@rescind/contracts';
import { createHash } from 'node:crypto';

/*
 * What may carry a credential, for everything the writer passes on about an input it could not
 * process (dead letters, their headers, error details, logs). Raw tokens never leave the writer
 * (docs/design.md, promise 7): whatever may be one is replaced by its fingerprint. These are
 * heuristics, so they err on the side of fingerprinting: the original stays on the input topic.
 */

/**
 * `sha256:<base64url>`, what replaces anything that may be a credential: for text, the same
 * digest as the contracts' `tokenHash` (the value of token_hash rules).
 */
export function fingerprint(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('base64url')}`;
}

/**
 * A source event as it may be kept (its idempotency fingerprint): the one member that carries a
 * credential by contract, a leaked `token`, replaced by its {@link fingerprint}, so the raw
 * token is never stored. Everything else stays, as the event's identity. (Dead letters and
 * logs, which may meet anything, go through {@link redactJson} and {@link Scrubber}.)
 */
export function redactSourceEvent(event: SourceEventV1): SourceEventV1 {
  if ('token' in event && typeof event.token === 'string') {
    return { ...event, token: fingerprint(event.token) };
  }
  return event;
}

const FINGERPRINT = /^sha256:[A-Za-z0-9_-]{43}$/;

/**
 * Words that make a member or header name a credential's, compared without case and separators:
 * `access_token`, `refresh_token`, `id_token`, `X-Auth-Token`, `client_secret`, `Authorization`,
 * `Proxy-Authorization`, `password`, `assertion`, `api-key`...
 */
const CREDENTIAL_WORDS = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'credential',
  'authorization',
  'assertion',
  'cookie',
  'apikey',
  'privatekey',
  'bearer',
  'jwt',
  'signature',
];

/** The name suggests that what it holds is a credential. */
export function suggestsCredential(name: string): boolean {
  const folded = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return CREDENTIAL_WORDS.some((word) => folded.includes(word));
}

// Runs of base64url characters and dots. One character class, so matching is linear however
// long the input (a pattern of segments and dots backtracks quadratically on a long run).
const DOTTED_RUN = /[A-Za-z0-9_.-]{12,}/g;

/**
 * Contains a compact JWS or JWE (a JWT, signed or encrypted): three or more dot-separated
 * base64url segments (JWS has 3, RFC 7515 §7.1, the payload empty when detached; JWE has 5,
 * RFC 7516 §7.1, the key empty for direct encryption) whose first, the protected header, is a
 * JSON object. The header check keeps host names (`idp.example.com`) and event types
 * (`token.leaked`) from counting.
 */
export function containsJose(text: string): boolean {
  for (const [run] of text.matchAll(DOTTED_RUN)) {
    const segments = run.split('.');
    for (let i = 0; i + 2 < segments.length; i++) {
      // `{` encodes to a leading `e`; 16 characters decode to the header's first 12 bytes.
      const header = segments[i]!;
      if (
        header.length >= 10 &&
        header.startsWith('e') &&
        /^\s*\{\s*"/.test(Buffer.from(header.slice(0, 16), 'base64url').toString('latin1'))
      ) {
        return true;
      }
    }
  }
  return false;
}

const OPAQUE_RUN = /[A-Za-z0-9_~+/=-]{20,}/g;

/**
 * Contains what looks like an opaque random credential: 20 or more base64/base64url characters
 * mixing upper case, lower case and digits (an API key, a random access token), or 32 or more
 * hex digits. Readable ids (`hr-2026-0042`, UUIDs, slugs) do not.
 */
export function containsOpaqueSecret(text: string): boolean {
  for (const [run] of text.matchAll(OPAQUE_RUN)) {
    if (/[a-z]/.test(run) && /[A-Z]/.test(run) && /[0-9]/.test(run)) {
      return true;
    }
    if (/[0-9a-fA-F]{32,}/.test(run)) {
      return true;
    }
  }
  return false;
}

/** Strings no longer than this may be kept; longer ones are fingerprinted (a token is long). */
export const MAX_KEPT_LENGTH = 256;

/**
 * Members the contracts' source events define and that hold no credential (the leaked `token`
 * is the one that does). Checked against the schemas by a unit test, so that a new field is a
 * decision, not an accident. Members of any other name (a misnamed or nested token, an unknown
 * field) keep their name, but not their value.
 */
export const NON_CREDENTIAL_MEMBERS: ReadonlySet<string> = new Set([
  'id',
  'type',
  'occurredAt',
  'iss',
  'subject',
  'employeeId',
  'sid',
  'jti',
  'clientId',
  'kid',
  'compromised',
  'severity',
  'playbookId',
]);

/** A member name that is kept: it reads like a field name, not like a credential. */
function nameMayStay(name: string): boolean {
  return (
    /^[A-Za-z_$@][A-Za-z0-9_$@.:-]{0,63}$/.test(name) &&
    !containsJose(name) &&
    !containsOpaqueSecret(name)
  );
}

/** A JSON value with every member that may hold a credential replaced by its fingerprint. */
export interface RedactedJson {
  value: unknown;
  /** Every string replaced (values and member names): what must not appear anywhere else. */
  replaced: string[];
}

/**
 * Deep redaction of a parsed JSON value. Kept as they are: the structure (objects, arrays),
 * member names that read like field names, `true`/`false`/`null`, and the strings and numbers
 * of {@link NON_CREDENTIAL_MEMBERS} (at any depth, array items taking their array's name) unless
 * the string contains a JWT or is longer than {@link MAX_KEPT_LENGTH}. Every other string or
 * number, everything below a member whose name suggests a credential (`token: {...}`,
 * `token: [...]`, `token: 42`), and every other member name is replaced by its fingerprint,
 * `sha256:<base64url>` of the string (of the JSON text, for a number).
 */
export function redactJson(value: unknown): RedactedJson {
  const replaced: string[] = [];
  const replace = (text: string): string => {
    replaced.push(text);
    return fingerprint(text);
  };
  const walk = (node: unknown, name: string | null, underCredential: boolean): unknown => {
    if (node === null || typeof node === 'boolean') {
      return node;
    }
    if (typeof node === 'string' || typeof node === 'number') {
      const text = typeof node === 'string' ? node : JSON.stringify(node);
      const keep =
        !underCredential &&
        name !== null &&
        NON_CREDENTIAL_MEMBERS.has(name) &&
        text.length <= MAX_KEPT_LENGTH &&
        !containsJose(text);
      return keep ? node : replace(text);
    }
    if (Array.isArray(node)) {
      return node.map((item) => walk(item, name, underCredential));
    }
    // Without a prototype, so that a member named `__proto__` stays a member.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [member, child] of Object.entries(node as Record<string, unknown>)) {
      const kept = nameMayStay(member) ? member : replace(member);
      out[kept] = walk(child, member, underCredential || suggestsCredential(member));
    }
    return out;
  };
  return { value: walk(value, null, false), replaced };
}

/** Shorter strings are not looked for elsewhere (an 8-character token is no token). */
const MIN_KNOWN_LENGTH = 8;

/** Runs of text an error message or log line may echo: what the scrubber looks at. */
const WORD = /[^\s"'`,;()[\]{}<>]{8,}/g;

/** The words of `text` the scrubber would look at: for text that could not be parsed. */
export function wordsOf(text: string): string[] {
  return text.match(WORD) ?? [];
}

/**
 * Removes credentials from free text (an error message, a log line) about one input: every
 * word that contains a JWT or an opaque secret, or overlaps one of `known` (strings of the input
 * already found to need redaction), is replaced by its fingerprint.
 */
export class Scrubber {
  private readonly known = new Set<string>();

  constructor(known: Iterable<string> = []) {
    this.add(...known);
  }

  /** More strings that need redaction wherever they appear. */
  add(...texts: string[]): void {
    for (const text of texts) {
      if (text.length >= MIN_KNOWN_LENGTH) {
        this.known.add(text);
      }
    }
  }

  /** `text` overlaps a known string: contains one, or is a part of one. */
  overlapsKnown(text: string): boolean {
    for (const secret of this.known) {
      if (text.includes(secret) || (text.length >= MIN_KNOWN_LENGTH && secret.includes(text))) {
        return true;
      }
    }
    return false;
  }

  scrub(text: string): string {
    return text.replace(WORD, (word) =>
      !FINGERPRINT.test(word) &&
      (containsJose(word) || containsOpaqueSecret(word) || this.overlapsKnown(word))
        ? fingerprint(word)
        : word,
    );
  }
}
