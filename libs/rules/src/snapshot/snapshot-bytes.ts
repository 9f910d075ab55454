import { DenyListSnapshotError } from './snapshot-error';

/** Bytes a string takes in a snapshot: a u32 count of UTF-16 code units, then the units. */
export function stringBytes(value: string): number {
  return 4 + 2 * value.length;
}

/**
 * Builds a small section of a snapshot (little-endian integers, strings as UTF-16LE code
 * units, which keep lone surrogates that UTF-8 would replace). Sized up front: `bytes` is the
 * exact length, checked by {@link SectionWriter.done}.
 */
export class SectionWriter {
  private readonly buffer: Buffer;
  private at = 0;

  constructor(bytes: number) {
    this.buffer = Buffer.alloc(bytes);
  }

  u32(value: number): this {
    this.at = this.buffer.writeUInt32LE(value, this.at);
    return this;
  }

  i32(value: number): this {
    this.at = this.buffer.writeInt32LE(value, this.at);
    return this;
  }

  string(value: string): this {
    this.u32(value.length);
    this.at += this.buffer.write(value, this.at, 'utf16le');
    return this;
  }

  done(): Buffer {
    if (this.at !== this.buffer.length) {
      throw new Error(`section sized ${this.buffer.length} bytes, ${this.at} written`);
    }
    return this.buffer;
  }
}

/**
 * Reads the checksummed body of a snapshot. Running past its end means the writer and its own
 * counts disagree (the length and checksum were already verified), so it is `snapshot_invalid`.
 */
export class SectionReader {
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    private at: number,
    private readonly end: number,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  get offset(): number {
    return this.at;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  private take(bytes: number, what: string): number {
    if (bytes < 0 || bytes > this.end - this.at) {
      throw new DenyListSnapshotError(
        'snapshot_invalid',
        `deny-list snapshot invalid: ${what} at byte ${this.at} runs past the end of the body ` +
          `(${bytes} bytes wanted, ${this.end - this.at} left)`,
      );
    }
    const at = this.at;
    this.at += bytes;
    return at;
  }

  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }

  /** `bytes` bytes as a view of the input (not a copy). */
  bytes(bytes: number, what: string): Uint8Array {
    const at = this.take(bytes, what);
    return this.input.subarray(at, at + bytes);
  }

  string(what: string): string {
    return this.codeUnits(this.u32(`${what} (length)`), what);
  }

  /** A string of `length` UTF-16 code units. */
  codeUnits(length: number, what: string): string {
    const at = this.take(2 * length, what);
    return Buffer.from(this.input.buffer, this.input.byteOffset + at, 2 * length).toString(
      'utf16le',
    );
  }
}
