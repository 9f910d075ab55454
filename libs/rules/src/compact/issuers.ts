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

  /** The issuer of `id`; `null` for 0 (any issuer). */
  nameOf(id: number): string | null {
    return this.names[id] ?? null;
  }
}
