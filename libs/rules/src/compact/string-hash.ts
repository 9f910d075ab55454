/**
 * A 32-bit hash of the UTF-16 code units of `value`. Two lanes of two code units per step
 * (each a bijective multiply-rotate, so one lane's latency chain is half the string), then
 * MurmurHash3's finalizer. Computed in JavaScript because V8 does not expose its own string
 * hash and the DenyList's hash table needs one it can store. `seed` is chosen at random per
 * list, so nobody can precompute values that collide.
 */
export function hashString(value: string, seed: number): number {
  const length = value.length;
  let a = seed ^ length;
  let b = Math.imul(seed, 0x9e3779b1) ^ 0x7f4a7c15;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    a = Math.imul(a ^ (value.charCodeAt(i) | (value.charCodeAt(i + 1) << 16)), 0xcc9e2d51);
    b = Math.imul(b ^ (value.charCodeAt(i + 2) | (value.charCodeAt(i + 3) << 16)), 0x1b873593);
    a = (a << 15) | (a >>> 17);
    b = (b << 13) | (b >>> 19);
  }
  for (; i < length; i += 1) {
    a = Math.imul(a ^ value.charCodeAt(i), 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
  }
  let h = a ^ Math.imul(b, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A random 32-bit seed for {@link hashString}. Not a secret of any strength: it only spreads. */
export function randomSeed(): number {
  return (Math.random() * 0x1_0000_0000) | 0;
}

/**
 * {@link hashString} of the string whose UTF-16 code units are `codes[0..length)`: the same
 * arithmetic, step for step, read from an array instead of a string. A snapshot's values are
 * hashed from their packed bytes this way, without becoming strings (hash-packed.spec.ts holds
 * the two functions to the same answers).
 */
export function hashCodeUnits(codes: Uint16Array, length: number, seed: number): number {
  let a = seed ^ length;
  let b = Math.imul(seed, 0x9e3779b1) ^ 0x7f4a7c15;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    a = Math.imul(a ^ (codes[i]! | (codes[i + 1]! << 16)), 0xcc9e2d51);
    b = Math.imul(b ^ (codes[i + 2]! | (codes[i + 3]! << 16)), 0x1b873593);
    a = (a << 15) | (a >>> 17);
    b = (b << 13) | (b >>> 19);
  }
  for (; i < length; i += 1) {
    a = Math.imul(a ^ codes[i]!, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
  }
  let h = a ^ Math.imul(b, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
