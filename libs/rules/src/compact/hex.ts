/** Lower-case hex digits and UUIDs as nibbles: how ids are packed to half their size or less. */

/** Char code of each nibble's lower-case hex digit. */
export const HEX_CODES: Uint8Array = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** The nibble of a lower-case hex digit's char code, or -1 (upper case is not packed). */
export function nibble(code: number): number {
  if (code >= 48 && code <= 57) {
    return code - 48;
  }
  if (code >= 97 && code <= 102) {
    return code - 87;
  }
  return -1;
}

export const UUID_LENGTH = 36;
const DASH = 45;

/**
 * For each position of a canonical UUID (`8-4-4-4-12`), the index of its nibble among the 32,
 * or -1 for the four dashes.
 */
export const UUID_NIBBLE_AT: Int8Array = (() => {
  const at = new Int8Array(UUID_LENGTH);
  let n = 0;
  for (let i = 0; i < UUID_LENGTH; i += 1) {
    at[i] = i === 8 || i === 13 || i === 18 || i === 23 ? -1 : n++;
  }
  return at;
})();

/** Is `value` a UUID in canonical lower-case form (the only form that packs losslessly)? */
export function isLowerUuid(value: string): boolean {
  if (value.length !== UUID_LENGTH) {
    return false;
  }
  for (let i = 0; i < UUID_LENGTH; i += 1) {
    const code = value.charCodeAt(i);
    if (UUID_NIBBLE_AT[i] === -1 ? code !== DASH : nibble(code) < 0) {
      return false;
    }
  }
  return true;
}

/** Packs a canonical lower-case UUID into four 32-bit words at `words[at..at+3]`. */
export function packUuid(value: string, words: Int32Array, at: number): void {
  let word = 0;
  let n = 0;
  for (let i = 0; i < UUID_LENGTH; i += 1) {
    if (UUID_NIBBLE_AT[i] === -1) {
      continue;
    }
    word = (word << 4) | nibble(value.charCodeAt(i));
    n += 1;
    if ((n & 7) === 0) {
      words[at + (n >>> 3) - 1] = word;
      word = 0;
    }
  }
}

/** The UUID packed by {@link packUuid}. */
export function unpackUuid(words: Int32Array, at: number): string {
  const codes = new Array<number>(UUID_LENGTH);
  for (let i = 0; i < UUID_LENGTH; i += 1) {
    const n = UUID_NIBBLE_AT[i]!;
    codes[i] = n === -1 ? DASH : HEX_CODES[(words[at + (n >>> 3)]! >>> (28 - 4 * (n & 7))) & 15]!;
  }
  return String.fromCharCode(...codes);
}
