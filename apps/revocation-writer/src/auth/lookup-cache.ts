/**
 * A bounded cache of lookups that may be stale for at most `ttlMs`: what the authentication
 * guards read of credentials and clients, so that a burst of requests on one credential costs
 * one PostgreSQL read per `ttlMs` instead of one per request. Misses are kept too (an unknown or
 * disabled id), so a flood of bad tokens does not reach PostgreSQL either; the oldest entries go
 * first when `maxEntries` is reached. `ttlMs` 0 caches nothing.
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) {
      return load();
    }
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > this.now()) {
      return hit.value;
    }
    const value = await load();
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
    return value;
  }

  /** Forgets everything: a change made here takes effect here at once. */
  clear(): void {
    this.entries.clear();
  }
}
