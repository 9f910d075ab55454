import { IntList } from './int-list';

/** Bytes per slab page once a slab is past its first, growing page. */
const PAGE_BYTES = 64 * 1024;

/** Same-size slots in pages, reused through a free list. */
export class Slab {
  readonly pages: Uint8Array[];
  /** Slots per page is 2^shift, so a slot's page is `slot >>> shift`. */
  readonly shift: number;
  readonly mask: number;
  /** Slots allocated so far (the first page grows until it is full size). */
  private capacity: number;
  private next = 0;
  private readonly free = new IntList(4);

  constructor(readonly slotBytes: number) {
    this.shift = Math.max(0, 31 - Math.clz32(Math.max(1, Math.floor(PAGE_BYTES / slotBytes))));
    this.mask = (1 << this.shift) - 1;
    this.capacity = Math.min(4, 1 << this.shift);
    this.pages = [new Uint8Array(this.capacity * slotBytes)];
  }

  alloc(): number {
    if (this.free.length > 0) {
      return this.free.pop();
    }
    const slot = this.next;
    this.next += 1;
    if (slot === this.capacity) {
      const perPage = 1 << this.shift;
      if (this.capacity < perPage) {
        this.capacity = Math.min(perPage, this.capacity * 2);
        const grown = new Uint8Array(this.capacity * this.slotBytes);
        grown.set(this.pages[0]!);
        this.pages[0] = grown;
      } else {
        this.pages.push(new Uint8Array(perPage * this.slotBytes));
        this.capacity += perPage;
      }
    }
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Slots handed out so far (in use or on the free list). */
  get allocated(): number {
    return this.next;
  }

  /** A slab whose slots 0..slots-1 are `source` (as {@link PackedStrings.copyPacked} wrote them). */
  static restore(slotBytes: number, source: Uint8Array, slots: number): Slab {
    const slab = new Slab(slotBytes);
    const perPage = 1 << slab.shift;
    if (slots <= perPage) {
      slab.capacity = Math.max(slab.capacity, slots);
      slab.pages[0] = new Uint8Array(slab.capacity * slotBytes);
      slab.pages[0].set(source.subarray(0, slots * slotBytes));
    } else {
      slab.pages.length = 0;
      for (let first = 0; first < slots; first += perPage) {
        const page = new Uint8Array(perPage * slotBytes);
        page.set(source.subarray(first * slotBytes, Math.min(slots, first + perPage) * slotBytes));
        slab.pages.push(page);
      }
      slab.capacity = slab.pages.length * perPage;
    }
    slab.next = slots;
    return slab;
  }
}
