/** A growable list of 32-bit integers: 4 bytes per entry instead of an 8-byte array slot. */
export class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 8) {
    this.data = new Int32Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(Math.ceil(this.data.length * 1.5) + 8);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length] = value;
    this.length += 1;
  }

  /** Removes and returns the last entry; the list must not be empty. */
  pop(): number {
    this.length -= 1;
    return this.data[this.length]!;
  }
}
