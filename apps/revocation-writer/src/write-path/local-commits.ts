import { Injectable } from '@nestjs/common';

/** Keys awaited at once beyond which the mirror is not asked at all (it is far behind). */
const MOST_AWAITED = 50_000;

/**
 * The rule versions this writer process committed that its deny-list mirror has not applied
 * yet, by key. Introspection answers from the mirror only for tokens none of whose candidate
 * keys is awaited here: what this writer acknowledged is never answered from a mirror that has
 * not seen it. (A `seq` high-water mark would not do: another writer's later `seq` can reach the
 * topic before this writer's earlier one.)
 */
@Injectable()
export class LocalCommits {
  private readonly awaited = new Map<string, number>();

  /** Versions just committed, by key and `seq`. */
  committed(versions: Iterable<{ key: string; seq?: number | null }>): void {
    for (const { key, seq } of versions) {
      if (typeof seq === 'number' && seq > (this.awaited.get(key) ?? 0)) {
        this.awaited.set(key, seq);
      }
    }
  }

  /** The mirror applied this version (or a later one) of the key. */
  applied(key: string, seq: number): void {
    const awaited = this.awaited.get(key);
    if (awaited !== undefined && seq >= awaited) {
      this.awaited.delete(key);
    }
  }

  /** Whether the mirror may answer for these keys: none of them awaits a local commit. */
  settled(keys: readonly string[]): boolean {
    return this.awaited.size < MOST_AWAITED && keys.every((key) => !this.awaited.has(key));
  }
}
