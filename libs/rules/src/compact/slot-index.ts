/** Hash table load: grow past 3/4, rebuild at 1/2, shrink below 1/5. */
const MAX_LOAD = 0.75;
const REBUILD_LOAD = 0.5;
const MIN_LOAD = 0.2;
const MIN_SLOTS = 16;

const TWO_TO_MINUS_32 = 1 / 4_294_967_296;
/** {@link SlotIndex.addAll} sorts by the top 12 bits of the hash. */
const SORT_SHIFT = 20;
const SORT_BUCKETS = 1 << (32 - SORT_SHIFT);

/** Maps a 32-bit hash onto [0, capacity) without a power-of-two capacity (Lemire's fastrange). */
function home(hash: number, capacity: number): number {
  return Math.floor((hash >>> 0) * capacity * TWO_TO_MINUS_32);
}

/**
 * A one-byte tag per slot, 1..255, from the low bits of the hash (the slot position comes from
 * the high bits): 0 marks an empty slot.
 */
function tagOf(hash: number): number {
  return 1 + ((hash & 0xff) % 255);
}

/**
 * Record numbers by value hash: open addressing with linear probing and backward-shift deletion
 * (no tombstones). Several records may share a hash (the same value for different issuers, or a
 * collision): {@link SlotIndex.candidates} yields each of them, the caller compares the values.
 */
export class SlotIndex {
  /** Entries stored. */
  count = 0;
  /** Pairs (hash, record + 1); record + 1 === 0 marks an empty slot. */
  private slots = new Int32Array(2 * MIN_SLOTS);
  /**
   * One tag per slot (0: empty), an eighth of the size of `slots`: a probe for a value that is
   * not in the table (most lookups) reads only these bytes, which stay in cache, and visits
   * `slots` only for the 1 in 255 slots whose tag matches by chance.
   */
  private tags = new Uint8Array(MIN_SLOTS);
  private capacity = MIN_SLOTS;
  /** The probe of the last {@link SlotIndex.first} call, continued by {@link SlotIndex.next}. */
  private probe = 0;
  private probeHash = 0;
  private probeTag = 0;

  /**
   * The first record whose hash is `hash`, or -1; {@link SlotIndex.next} gives the others.
   * A cursor rather than an iterator: `check` runs this on every token and allocates nothing.
   */
  first(hash: number): number {
    this.probeHash = hash;
    this.probeTag = tagOf(hash);
    this.probe = home(hash, this.capacity);
    return this.scan();
  }

  /** The next record whose hash is the one given to {@link SlotIndex.first}, or -1. */
  next(): number {
    this.probe = this.probe + 1 === this.capacity ? 0 : this.probe + 1;
    return this.scan();
  }

  private scan(): number {
    const slots = this.slots;
    const tags = this.tags;
    const capacity = this.capacity;
    const hash = this.probeHash;
    const tag = this.probeTag;
    for (let i = this.probe; ; i = i + 1 === capacity ? 0 : i + 1) {
      const t = tags[i]!;
      if (t === 0) {
        this.probe = i;
        return -1;
      }
      if (t === tag && slots[2 * i] === hash) {
        this.probe = i;
        return slots[2 * i + 1]! - 1;
      }
    }
  }

  /** Enters record `r` under `hash`, growing the table first if it is too full. */
  add(hash: number, r: number): void {
    if (this.count + 1 > this.capacity * MAX_LOAD) {
      this.rehash(Math.ceil((this.count + 1) / REBUILD_LOAD));
    }
    this.place(hash, r);
    this.count += 1;
  }

  /**
   * Enters records 0..n-1 under `hashes[r]`, as `add` for each would, but in order of their
   * home slot (a counting sort on the hash's top bits, which `home` is monotonic in): the
   * writes then sweep the table once instead of each missing the cache, which is most of the
   * cost of rebuilding a loaded snapshot's slots. Any insertion order is a valid table.
   */
  addAll(hashes: Int32Array): void {
    const n = hashes.length;
    if (this.count + n > this.capacity * MAX_LOAD) {
      this.rehash(Math.ceil((this.count + n) / REBUILD_LOAD));
    }
    const starts = new Int32Array(SORT_BUCKETS + 1);
    for (let r = 0; r < n; r += 1) {
      const b = (hashes[r]! >>> SORT_SHIFT) + 1;
      starts[b] = starts[b]! + 1;
    }
    for (let b = 1; b <= SORT_BUCKETS; b += 1) {
      starts[b] = starts[b]! + starts[b - 1]!;
    }
    const order = new Int32Array(n);
    for (let r = 0; r < n; r += 1) {
      const b = hashes[r]! >>> SORT_SHIFT;
      order[starts[b]!] = r;
      starts[b] = starts[b]! + 1;
    }
    for (let i = 0; i < n; i += 1) {
      const r = order[i]!;
      this.place(hashes[r]!, r);
    }
    this.count += n;
  }

  /** Removes record `r`'s entry, then shrinks the table if it is mostly empty. */
  delete(hash: number, r: number): void {
    this.unplace(hash, r);
    this.count -= 1;
    if (this.capacity > MIN_SLOTS && this.count < this.capacity * MIN_LOAD) {
      this.rehash(Math.ceil(this.count / REBUILD_LOAD));
    }
  }

  private place(hash: number, r: number): void {
    const slots = this.slots;
    const capacity = this.capacity;
    let i = home(hash, capacity);
    while (slots[2 * i + 1] !== 0) {
      i = i + 1 === capacity ? 0 : i + 1;
    }
    slots[2 * i] = hash;
    slots[2 * i + 1] = r + 1;
    this.tags[i] = tagOf(hash);
  }

  /** Removes record `r`'s entry, shifting later entries of its run back (no tombstones). */
  private unplace(hash: number, r: number): void {
    const slots = this.slots;
    const tags = this.tags;
    const capacity = this.capacity;
    let hole = home(hash, capacity);
    while (slots[2 * hole + 1] !== r + 1) {
      hole = hole + 1 === capacity ? 0 : hole + 1;
    }
    for (let j = hole + 1 === capacity ? 0 : hole + 1; ; j = j + 1 === capacity ? 0 : j + 1) {
      if (slots[2 * j + 1] === 0) {
        break;
      }
      const k = home(slots[2 * j]!, capacity);
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (!stays) {
        slots[2 * hole] = slots[2 * j]!;
        slots[2 * hole + 1] = slots[2 * j + 1]!;
        tags[hole] = tags[j]!;
        hole = j;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    tags[hole] = 0;
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    this.capacity = Math.max(MIN_SLOTS, capacity);
    this.slots = new Int32Array(2 * this.capacity);
    this.tags = new Uint8Array(this.capacity);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] !== 0) {
        this.place(old[i]!, old[i + 1]! - 1);
      }
    }
  }
}
