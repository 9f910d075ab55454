import { HEX_CODES, isLowerUuid, nibble, UUID_LENGTH, UUID_NIBBLE_AT } from './hex';
import { IntList } from './int-list';
import { Slab } from './slab';
import { hashCodeUnits, hashString } from './string-hash';

/**
 * Rule values (user ids, token ids, session ids, ...) stored as bytes instead of as JavaScript
 * strings: a V8 string costs a 16-byte header plus its characters rounded up to 8, and a Map
 * needs one to key by. Packed:
 *
 * - lower-case UUID (`8-4-4-4-12`): 16 bytes instead of 36 characters;
 * - lower-case hex or decimal digits: two characters per byte;
 * - other text of code units below 256 (Latin-1, so all ASCII): one byte per character;
 * - anything else: two bytes per UTF-16 code unit (lone surrogates included);
 * - longer than {@link MAX_PACKED_LENGTH}: kept as the string itself (ENC_STRING).
 *
 * A value's shape is `length << 3 | encoding`. The functions below read and write packed
 * values at any place in a byte array (the DenyList keeps short ones inside its records);
 * {@link PackedStrings} holds the others in slabs.
 */
export const ENC_LATIN1 = 0;
export const ENC_UTF16 = 1;
export const ENC_HEX = 2;
export const ENC_UUID = 3;
export const ENC_STRING = 4;

/** Longest value packed; a shape keeps the length in 22 bits so flags fit beside it. */
export const MAX_PACKED_LENGTH = (1 << 22) - 1;

const DASH = 45;

/** The shape `value` is stored in: `length << 3 | encoding`. */
export function shapeOf(value: string): number {
  const length = value.length;
  if (length > MAX_PACKED_LENGTH) {
    return ENC_STRING;
  }
  if (isLowerUuid(value)) {
    return (length << 3) | ENC_UUID;
  }
  let hex = length > 0;
  let latin1 = true;
  for (let i = 0; i < length; i += 1) {
    const code = value.charCodeAt(i);
    if (hex && nibble(code) < 0) {
      hex = false;
    }
    if (code > 0xff) {
      latin1 = false;
      break;
    }
  }
  return (length << 3) | (hex ? ENC_HEX : latin1 ? ENC_LATIN1 : ENC_UTF16);
}

/** Bytes a value of this shape packs into (not meaningful for ENC_STRING). */
export function packedBytes(shape: number): number {
  const length = shape >>> 3;
  switch (shape & 7) {
    case ENC_LATIN1:
      return length;
    case ENC_UTF16:
      return length * 2;
    case ENC_HEX:
      return (length + 1) >>> 1;
    default:
      return 16;
  }
}

/** Writes `value`, packed in `shape` (not ENC_STRING), at `bytes[at..]`. */
export function pack(value: string, shape: number, bytes: Uint8Array, at: number): void {
  const length = shape >>> 3;
  switch (shape & 7) {
    case ENC_LATIN1:
      for (let i = 0; i < length; i += 1) {
        bytes[at + i] = value.charCodeAt(i);
      }
      return;
    case ENC_UTF16:
      for (let i = 0; i < length; i += 1) {
        const code = value.charCodeAt(i);
        bytes[at + 2 * i] = code & 0xff;
        bytes[at + 2 * i + 1] = code >>> 8;
      }
      return;
    case ENC_HEX:
      for (let i = 0; i < length; i += 1) {
        const n = nibble(value.charCodeAt(i));
        const byte = at + (i >>> 1);
        bytes[byte] = (i & 1) === 0 ? n << 4 : bytes[byte]! | n;
      }
      return;
    default:
      for (let i = 0; i < UUID_LENGTH; i += 1) {
        const n = UUID_NIBBLE_AT[i]!;
        if (n >= 0) {
          const byte = at + (n >>> 1);
          const bits = nibble(value.charCodeAt(i));
          bytes[byte] = (n & 1) === 0 ? bits << 4 : bytes[byte]! | bits;
        }
      }
  }
}

/** Does the value packed in `shape` at `bytes[at..]` equal `value`? Allocates nothing. */
export function packedEquals(bytes: Uint8Array, at: number, shape: number, value: string): boolean {
  const length = shape >>> 3;
  if (value.length !== length) {
    return false;
  }
  switch (shape & 7) {
    case ENC_LATIN1:
      for (let i = 0; i < length; i += 1) {
        if (bytes[at + i] !== value.charCodeAt(i)) {
          return false;
        }
      }
      return true;
    case ENC_UTF16:
      for (let i = 0; i < length; i += 1) {
        if ((bytes[at + 2 * i]! | (bytes[at + 2 * i + 1]! << 8)) !== value.charCodeAt(i)) {
          return false;
        }
      }
      return true;
    case ENC_HEX:
      for (let i = 0; i < length; i += 1) {
        const byte = bytes[at + (i >>> 1)]!;
        if (HEX_CODES[(i & 1) === 0 ? byte >>> 4 : byte & 15] !== value.charCodeAt(i)) {
          return false;
        }
      }
      return true;
    default:
      for (let i = 0; i < UUID_LENGTH; i += 1) {
        const n = UUID_NIBBLE_AT[i]!;
        const code = value.charCodeAt(i);
        if (n < 0) {
          if (code !== DASH) {
            return false;
          }
          continue;
        }
        const byte = bytes[at + (n >>> 1)]!;
        if (HEX_CODES[(n & 1) === 0 ? byte >>> 4 : byte & 15] !== code) {
          return false;
        }
      }
      return true;
  }
}

/** The value packed in `shape` at `bytes[at..]`, as a new string. */
export function unpack(bytes: Uint8Array, at: number, shape: number): string {
  const length = shape >>> 3;
  const encoding = shape & 7;
  const codes = new Array<number>(length);
  for (let i = 0; i < length; i += 1) {
    switch (encoding) {
      case ENC_LATIN1:
        codes[i] = bytes[at + i]!;
        break;
      case ENC_UTF16:
        codes[i] = bytes[at + 2 * i]! | (bytes[at + 2 * i + 1]! << 8);
        break;
      case ENC_HEX: {
        const byte = bytes[at + (i >>> 1)]!;
        codes[i] = HEX_CODES[(i & 1) === 0 ? byte >>> 4 : byte & 15]!;
        break;
      }
      default: {
        const n = UUID_NIBBLE_AT[i]!;
        if (n < 0) {
          codes[i] = DASH;
        } else {
          const byte = bytes[at + (n >>> 1)]!;
          codes[i] = HEX_CODES[(n & 1) === 0 ? byte >>> 4 : byte & 15]!;
        }
      }
    }
  }
  let out = '';
  for (let i = 0; i < length; i += 8192) {
    out += String.fromCharCode(...codes.slice(i, i + 8192));
  }
  return out;
}

/** The UTF-16 code units of the value packed in `shape` at `bytes[at..]`, into `out[0..]`. */
function unpackCodes(bytes: Uint8Array, at: number, shape: number, out: Uint16Array): void {
  const length = shape >>> 3;
  switch (shape & 7) {
    case ENC_LATIN1:
      for (let i = 0; i < length; i += 1) {
        out[i] = bytes[at + i]!;
      }
      return;
    case ENC_UTF16:
      for (let i = 0; i < length; i += 1) {
        out[i] = bytes[at + 2 * i]! | (bytes[at + 2 * i + 1]! << 8);
      }
      return;
    case ENC_HEX:
      for (let i = 0; i < length; i += 1) {
        const byte = bytes[at + (i >>> 1)]!;
        out[i] = HEX_CODES[(i & 1) === 0 ? byte >>> 4 : byte & 15]!;
      }
      return;
    default:
      for (let i = 0; i < UUID_LENGTH; i += 1) {
        const n = UUID_NIBBLE_AT[i]!;
        if (n < 0) {
          out[i] = DASH;
        } else {
          const byte = bytes[at + (n >>> 1)]!;
          out[i] = HEX_CODES[(n & 1) === 0 ? byte >>> 4 : byte & 15]!;
        }
      }
  }
}

/** Scratch code units for {@link hashPacked}, grown to the longest value met. */
let scratch = new Uint16Array(64);

/**
 * `hashString(unpack(bytes, at, shape), seed)` without building the string: how a loaded
 * snapshot rebuilds its hash slots.
 */
export function hashPacked(bytes: Uint8Array, at: number, shape: number, seed: number): number {
  const length = shape >>> 3;
  if (scratch.length < length) {
    scratch = new Uint16Array(Math.max(length, 2 * scratch.length));
  }
  unpackCodes(bytes, at, shape, scratch);
  return hashCodeUnits(scratch, length, seed);
}

/**
 * Packed values in slabs by size (rounded up to 4 bytes), and the rare ENC_STRING values as
 * strings. A value is named by its shape and the slot number `store` returned.
 */
export class PackedStrings {
  /** Slabs by slot size in 4-byte units. */
  private readonly slabs: (Slab | undefined)[] = [];
  private readonly strings: (string | undefined)[] = [];
  private readonly freeStrings = new IntList(4);

  /** Stores `value` in `shape` (from {@link shapeOf}); returns its slot. */
  store(value: string, shape: number): number {
    if ((shape & 7) === ENC_STRING) {
      const slot = this.freeStrings.length > 0 ? this.freeStrings.pop() : this.strings.length;
      this.strings[slot] = value;
      return slot;
    }
    const units = unitsOf(shape);
    const slab = (this.slabs[units] ??= new Slab(units * 4));
    const slot = slab.alloc();
    pack(value, shape, slab.pages[slot >>> slab.shift]!, (slot & slab.mask) * slab.slotBytes);
    return slot;
  }

  /** Does the value at (`shape`, `slot`) equal `value`? Allocates nothing. */
  equals(shape: number, slot: number, value: string): boolean {
    if ((shape & 7) === ENC_STRING) {
      return this.strings[slot] === value;
    }
    if (value.length !== shape >>> 3) {
      return false;
    }
    const slab = this.slabs[unitsOf(shape)]!;
    return packedEquals(
      slab.pages[slot >>> slab.shift]!,
      (slot & slab.mask) * slab.slotBytes,
      shape,
      value,
    );
  }

  /** The value at (`shape`, `slot`), as a new string. */
  read(shape: number, slot: number): string {
    if ((shape & 7) === ENC_STRING) {
      return this.strings[slot]!;
    }
    const slab = this.slabs[unitsOf(shape)]!;
    return unpack(slab.pages[slot >>> slab.shift]!, (slot & slab.mask) * slab.slotBytes, shape);
  }

  /** Frees the slot; the next {@link PackedStrings.store} may hand it out again. */
  release(shape: number, slot: number): void {
    if ((shape & 7) === ENC_STRING) {
      this.strings[slot] = undefined;
      this.freeStrings.push(slot);
      return;
    }
    this.slabs[unitsOf(shape)]!.release(slot);
  }

  /** {@link hashString} of the value at (`shape`, `slot`), computed from its packed bytes. */
  hash(shape: number, slot: number, seed: number): number {
    if ((shape & 7) === ENC_STRING) {
      return hashString(this.strings[slot]!, seed);
    }
    const slab = this.slabs[unitsOf(shape)]!;
    return hashPacked(
      slab.pages[slot >>> slab.shift]!,
      (slot & slab.mask) * slab.slotBytes,
      shape,
      seed,
    );
  }

  /**
   * Copies the packed bytes of the value at (`shape`, `slot`), not ENC_STRING, to `out[at..]`
   * (only the value's own bytes: the rest of its slot may hold an older value's).
   */
  copyPacked(shape: number, slot: number, out: Uint8Array, at: number): void {
    const slab = this.slabs[unitsOf(shape)]!;
    const page = slab.pages[slot >>> slab.shift]!;
    const from = (slot & slab.mask) * slab.slotBytes;
    const bytes = packedBytes(shape);
    if (bytes > 64) {
      out.set(page.subarray(from, from + bytes), at);
      return;
    }
    for (let i = 0; i < bytes; i += 1) {
      out[at + i] = page[from + i]!;
    }
  }

  /**
   * Is `slot` one that {@link PackedStrings.store} handed out for values of this shape? (A
   * loaded snapshot's records are checked against the slabs it restored.)
   */
  hasSlot(shape: number, slot: number): boolean {
    if ((shape & 7) === ENC_STRING) {
      return slot >= 0 && this.strings[slot] !== undefined;
    }
    const slab = this.slabs[unitsOf(shape)];
    return slab !== undefined && slot >= 0 && slot < slab.allocated;
  }

  /**
   * Packed strings whose slabs hold `slabs` (slot size in bytes, bytes of slots 0..slots-1,
   * with no free slot), and whose ENC_STRING values are `strings` (slots 0..n-1).
   */
  static restore(
    slabs: readonly { slotBytes: number; slots: number; bytes: Uint8Array }[],
    strings: readonly string[],
  ): PackedStrings {
    const packed = new PackedStrings();
    for (const { slotBytes, slots, bytes } of slabs) {
      packed.slabs[slotBytes >>> 2] = Slab.restore(slotBytes, bytes, slots);
    }
    for (const value of strings) {
      packed.strings.push(value);
    }
    return packed;
  }
}

/** Slot size, in 4-byte units, of a packed value of this shape. */
export function unitsOf(shape: number): number {
  return Math.max(1, (packedBytes(shape) + 3) >>> 2);
}
