/**
 * Issuers interned to small numbers, so a rule stores 4 bytes instead of a pointer to a
 * string. Id 0 means "any issuer". Ids are reference-counted and reused once no rule uses them.
 */
export class Issuers {
  private readonly ids = new Map<string, number>();
  private readonly names: (string | null)[] = [null];
  private readonly refs: number[] = [0];
  private readonly free: number[] = [];

  /** The id of `iss` (0 for `null`), or -1 when no rule has that issuer. */
  idOf(iss: string | null): number {
    return iss === null ? 0 : (this.ids.get(iss) ?? -1);
  }

  /** The id of `iss`, interning it if needed; pair with {@link Issuers.release}. */
  acquire(iss: string | null): number {
    if (iss === null) {
      return 0;
    }
    let id = this.ids.get(iss);
    if (id === undefined) {
      id = this.free.pop() ?? this.names.length;
      this.ids.set(iss, id);
      this.names[id] = iss;
      this.refs[id] = 0;
    }
    this.refs[id] = this.refs[id]! + 1;
    return id;
  }

  release(id: number): void {
    if (id === 0) {
      return;
    }
    const refs = this.refs[id]! - 1;
    this.refs[id] = refs;
    if (refs === 0) {
      this.ids.delete(this.names[id]!);
      this.names[id] = null;
      this.free.push(id);
    }
  }

  /** Issuer names by id (index 0, any issuer, and unused ids are `null`), for a snapshot. */
  snapshotNames(): readonly (string | null)[] {
    return this.names;
  }

  /**
   * Issuers whose ids are the indices of `names` (0 and unused ids `null`, no name twice), used
   * by `refs[id]` rules each; a name no rule uses is dropped.
   */
  static restore(names: readonly (string | null)[], refs: readonly number[]): Issuers {
    const issuers = new Issuers();
    for (let id = 1; id < names.length; id += 1) {
      const name = names[id] ?? null;
      const count = refs[id] ?? 0;
      if (name === null || count === 0) {
        issuers.names[id] = null;
        issuers.refs[id] = 0;
        issuers.free.push(id);
        continue;
      }
      issuers.ids.set(name, id);
      issuers.names[id] = name;
      issuers.refs[id] = count;
    }
    return issuers;
  }

  /** The issuer of `id`; `null` for 0 (any issuer). */
  nameOf(id: number): string | null {
    return this.names[id] ?? null;
  }
}
