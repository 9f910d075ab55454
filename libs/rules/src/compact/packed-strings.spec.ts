import fc from 'fast-check';
import { isLowerUuid, packUuid, unpackUuid } from './hex';
import {
  ENC_HEX,
  ENC_LATIN1,
  ENC_STRING,
  ENC_UTF16,
  ENC_UUID,
  pack,
  packedBytes,
  packedEquals,
  PackedStrings,
  shapeOf,
  unpack,
} from './packed-strings';

const hexString = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 40 });
/** Every kind of value a rule can hold, lone surrogates and upper-case UUIDs included. */
const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  hexString,
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.string({ minLength: 30, maxLength: 300 }),
);

describe(PackedStrings.name, () => {
  it('gives back exactly the value it stored, in every encoding', () => {
    fc.assert(
      fc.property(fc.array(anyValue, { maxLength: 30 }), (values) => {
        const strings = new PackedStrings();
        const stored = values.map((value) => {
          const shape = shapeOf(value);
          return { value, shape, slot: strings.store(value, shape) };
        });
        for (const { value, shape, slot } of stored) {
          expect(strings.read(shape, slot)).toBe(value);
          expect(strings.equals(shape, slot, value)).toBe(true);
          for (const other of values) {
            expect(strings.equals(shape, slot, other)).toBe(other === value);
          }
        }
      }),
    );
  });

  it('reuses released slots without disturbing the values still stored', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyValue, fc.boolean()), { maxLength: 40 }), (steps) => {
        const strings = new PackedStrings();
        const live: { value: string; shape: number; slot: number }[] = [];
        for (const [value, release] of steps) {
          if (release && live.length > 0) {
            const gone = live.shift()!;
            strings.release(gone.shape, gone.slot);
          }
          const shape = shapeOf(value);
          live.push({ value, shape, slot: strings.store(value, shape) });
        }
        for (const { value, shape, slot } of live) {
          expect(strings.read(shape, slot)).toBe(value);
        }
      }),
    );
  });
});

describe(shapeOf.name, () => {
  it('packs lower-case UUIDs into 16 bytes and hex or digits two characters per byte', () => {
    expect(shapeOf('9f1c6a3e-8d2b-4c7a-9e10-2b3c4d5e6f70') & 7).toBe(ENC_UUID);
    expect(packedBytes(shapeOf('9f1c6a3e-8d2b-4c7a-9e10-2b3c4d5e6f70'))).toBe(16);
    expect(shapeOf('9F1C6A3E-8D2B-4C7A-9E10-2B3C4D5E6F70') & 7).toBe(ENC_LATIN1);
    expect(shapeOf('108214356021843456789') & 7).toBe(ENC_HEX);
    expect(packedBytes(shapeOf('108214356021843456789'))).toBe(11);
    expect(shapeOf('auth0|64f1c2') & 7).toBe(ENC_LATIN1);
    expect(shapeOf('jürgen') & 7).toBe(ENC_LATIN1);
    expect(shapeOf('用户') & 7).toBe(ENC_UTF16);
  });

  it('packs and compares in place at any offset', () => {
    fc.assert(
      fc.property(anyValue, anyValue, fc.nat(16), (value, other, at) => {
        const shape = shapeOf(value);
        fc.pre((shape & 7) !== ENC_STRING);
        const bytes = new Uint8Array(at + packedBytes(shape)).fill(0xa5);
        pack(value, shape, bytes, at);
        expect(unpack(bytes, at, shape)).toBe(value);
        expect(packedEquals(bytes, at, shape, other)).toBe(other === value);
      }),
    );
  });
});

describe(packUuid.name, () => {
  it('round-trips every lower-case UUID through four 32-bit words', () => {
    fc.assert(
      fc.property(fc.uuid(), (uuid) => {
        expect(isLowerUuid(uuid)).toBe(true);
        const words = new Int32Array(6);
        packUuid(uuid, words, 1);
        expect(unpackUuid(words, 1)).toBe(uuid);
      }),
    );
  });

  it('refuses what it could not give back exactly', () => {
    expect(isLowerUuid('9F1C6A3E-8D2B-4C7A-9E10-2B3C4D5E6F70')).toBe(false);
    expect(isLowerUuid('9f1c6a3e8d2b4c7a9e102b3c4d5e6f70')).toBe(false);
    expect(isLowerUuid('9f1c6a3e-8d2b-4c7a-9e10-2b3c4d5e6f7g')).toBe(false);
  });
});
