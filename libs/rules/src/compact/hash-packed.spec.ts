import fc from 'fast-check';
import {
  ENC_STRING,
  hashPacked,
  pack,
  packedBytes,
  PackedStrings,
  shapeOf,
} from './packed-strings';
import { hashString } from './string-hash';

/** Values of every packing: Latin-1, UTF-16 (lone surrogates too), hex, decimal, UUIDs. */
const valueArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 70 }),
  fc.uuid(),
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 25 }),
);

describe(hashPacked.name, () => {
  it('hashes a packed value as hashString hashes the string (a loaded snapshot finds every value)', () => {
    fc.assert(
      fc.property(valueArb, fc.integer(), fc.nat(8), (value, seed, offset) => {
        const shape = shapeOf(value);
        const bytes = new Uint8Array(offset + packedBytes(shape));
        pack(value, shape, bytes, offset);
        expect(hashPacked(bytes, offset, shape, seed)).toBe(hashString(value, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes values in slabs, and long values kept as strings, as hashString does', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 30 }), fc.integer(), (values, seed) => {
        const strings = new PackedStrings();
        const stored = values.map((value) => {
          const shape = shapeOf(value);
          return { value, shape, slot: strings.store(value, shape) };
        });
        for (const { value, shape, slot } of stored) {
          expect(strings.hash(shape, slot, seed)).toBe(hashString(value, seed));
        }
      }),
    );
    const long = 'y'.repeat((1 << 22) + 1);
    const strings = new PackedStrings();
    expect(shapeOf(long)).toBe(ENC_STRING);
    expect(strings.hash(ENC_STRING, strings.store(long, ENC_STRING), 7)).toBe(hashString(long, 7));
  });
});
