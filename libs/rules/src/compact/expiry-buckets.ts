import { IntList } from './int-list';

/** Width of an expiry bucket: rules are pruned at most this late. */
const EXPIRY_BUCKET_MS = 10_000;

/**
 * Record numbers by expiry time, in buckets of ten seconds, so that pruning visits only what is
 * due. Entries are never removed when a record changes: a record that was freed, or whose newer
 * version expires later (or never), leaves a stale entry that {@link ExpiryBuckets.drain} skips.
 */
export class ExpiryBuckets {
  private readonly buckets = new Map<number, IntList>();

  add(r: number, expiresAt: number): void {
    const bucket = Math.floor(expiresAt / EXPIRY_BUCKET_MS);
    let due = this.buckets.get(bucket);
    if (due === undefined) {
      due = new IntList(4);
      this.buckets.set(bucket, due);
    }
    due.push(r);
  }

  /**
   * Calls `expire` for every record whose expiry is at or before `nowMs`, visiting only due
   * buckets. `expiresAt(r)` is the record's current expiry (null: never, or freed): an entry
   * whose record now expires in another bucket is stale and dropped. Returns how many expired.
   */
  drain(nowMs: number, expiresAt: (r: number) => number | null, expire: (r: number) => void) {
    let expired = 0;
    const due = Math.floor(nowMs / EXPIRY_BUCKET_MS);
    for (const [bucket, records] of this.buckets) {
      if (bucket > due) {
        continue;
      }
      let kept = 0;
      for (let k = 0; k < records.length; k += 1) {
        const r = records.data[k]!;
        const at = expiresAt(r);
        if (at === null || !Object.is(Math.floor(at / EXPIRY_BUCKET_MS), bucket)) {
          continue;
        }
        if (at > nowMs) {
          records.data[kept] = r;
          kept += 1;
          continue;
        }
        expire(r);
        expired += 1;
      }
      records.length = kept;
      if (kept === 0) {
        this.buckets.delete(bucket);
      }
    }
    return expired;
  }
}
