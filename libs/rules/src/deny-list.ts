import type { InvalidationEventV1 } from '@rescind/contracts';
import { tokenClient } from './claims';
import { ClaimTable } from './compact/claim-table';
import { Issuers } from './compact/issuers';
import { PackedStrings } from './compact/packed-strings';
import { hashString, randomSeed } from './compact/string-hash';
import type { Decision, RuleVersion, TokenClaims } from './rule';
import { decodeSnapshot } from './snapshot/decode-snapshot';
import { type DenyListSnapshotMeta, encodeSnapshot } from './snapshot/encode-snapshot';

const NOT_REVOKED: Decision = Object.freeze({ revoked: false });

/** Claims `check` reads with a named property load, which is much cheaper than a keyed one. */
const OTHER = 0;
const SUB = 1;
const JTI = 2;
const SID = 3;
const CLIENT_ID = 4;
const ISS = 5;
const KID = 6;
const TOKEN_HASH = 7;
const KINDS: ReadonlyMap<string, number> = new Map([
  ['sub', SUB],
  ['jti', JTI],
  ['sid', SID],
  ['client_id', CLIENT_ID],
  ['iss', ISS],
  ['kid', KID],
  ['token_hash', TOKEN_HASH],
]);

/**
 * The token's value for `table`'s claim, as `tokenClaim` reads it (`client_id` falls back to
 * `azp`), but with named property loads for the common claims: this runs on every `check`.
 */
function claimValue(claims: TokenClaims, table: ClaimTable): unknown {
  switch (table.kind) {
    case SUB:
      return claims.sub;
    case JTI:
      return claims.jti;
    case SID:
      return claims.sid;
    case CLIENT_ID:
      return tokenClient(claims);
    case ISS:
      return claims.iss;
    case KID:
      return claims.kid;
    case TOKEN_HASH:
      return claims.token_hash;
    default:
      return claims[table.claim];
  }
}

/** What {@link DenyList.fromSnapshot} loaded. */
export interface DenyListSnapshot {
  list: DenyList;
  /** The metadata given to `toSnapshot`: the parsed JSON, or a Buffer of the bytes given. */
  meta: unknown;
  /** The saved list's `lastSeq` (also `list.lastSeq`). */
  lastSeq: number;
  /** Stored versions, live rules and removal markers (what `versions()` yields). */
  rules: number;
  /** Format version of the snapshot read, `major.minor` (e.g. `1.0`). */
  formatVersion: string;
}

/**
 * An in-memory deny-list: a last-writer-wins register per rule key, ordered by `seq`.
 * Applying the same events in any order, any number of times, converges to the same state.
 *
 * Lookups are per claim of the token (one hash-table probe per claim that has rules), never a
 * scan, and allocate nothing unless the token is revoked.
 *
 * Built for millions of rules: a version is stored as numbers and packed bytes (see
 * `compact/claim-table.ts`), not as an object. The RuleVersion objects it returns (from
 * `apply`, `get`, `versions` and a revoked `check`) are built on demand, so two calls return
 * equal but distinct objects.
 *
 * @example
 * const list = new DenyList();
 * list.apply(event); // from the invalidation topic
 * list.check({ sub: 'alice', iss: 'https://idp.example', iat: 1700000000 });
 */
export class DenyList {
  /** One table per claim that has rules; `order` is the order `check` visits them in. */
  private readonly tables = new Map<string, ClaimTable>();
  private order: ClaimTable[] = [];
  private strings = new PackedStrings();
  private issuers = new Issuers();
  private readonly seed = randomSeed();
  private highestSeq = 0;
  /** Counts changes, so that a snapshot being streamed notices one. */
  private changes = 0;

  /** Number of rules that currently revoke something (removal markers excluded). */
  get size(): number {
    let live = 0;
    for (const table of this.order) {
      live += table.live;
    }
    return live;
  }

  /** Highest `seq` ever applied. */
  get lastSeq(): number {
    return this.highestSeq;
  }

  /**
   * Applies one invalidation event. Returns the version now stored, or `undefined` when the
   * event was older than (or the same as) what is already known and changed nothing.
   */
  apply(event: InvalidationEventV1): RuleVersion | undefined {
    const { claim, value, iss } = event.rule;
    const hash = hashString(value, this.seed);
    let table = this.tables.get(claim);
    let r = -1;
    if (table === undefined) {
      table = new ClaimTable(
        claim,
        KINDS.get(claim) ?? OTHER,
        this.strings,
        this.issuers,
        this.seed,
      );
      this.tables.set(claim, table);
      this.order.push(table);
    } else {
      const issuer = this.issuers.idOf(iss);
      r = issuer < 0 ? -1 : table.find(value, hash, issuer);
      if (r >= 0 && table.seqOf(r) >= event.seq) {
        return undefined;
      }
    }
    if (r < 0) {
      r = table.insert(value, hash, iss);
    }
    table.write(r, event);
    this.changes += 1;
    if (event.seq > this.highestSeq) {
      this.highestSeq = event.seq;
    }
    // What was just stored, built from the event's fields (a literal, not a spread of
    // event.rule: V8 builds this one much faster).
    const set = event.type === 'rule.set';
    return {
      claim,
      value,
      iss,
      revokedBefore: set ? event.rule.revokedBefore : null,
      ...(set && event.rule.cutoff === 'auth_time' && event.rule.revokedBefore !== null
        ? { cutoff: 'auth_time' as const }
        : {}),
      expiresAt: set ? event.rule.expiresAt : event.expiresAt,
      key: event.key,
      seq: event.seq,
      revocationId: event.revocationId,
      removed: !set,
    };
  }

  /**
   * Is a token with these claims revoked? Checks every claim that has rules, issuer-independent
   * rules and rules restricted to the token's `iss`. `client_id` falls back to `azp`.
   */
  check(claims: TokenClaims): Decision {
    const order = this.order;
    for (let t = 0; t < order.length; t += 1) {
      const table = order[t]!;
      const value = claimValue(claims, table);
      if (typeof value !== 'string') {
        continue;
      }
      const r = table.findRevoking(
        value,
        hashString(value, this.seed),
        claims.iss,
        claims.iat,
        claims.auth_time,
      );
      if (r >= 0) {
        return { revoked: true, rule: table.materialize(r) };
      }
    }
    return NOT_REVOKED;
  }

  /** The stored version (live or removal marker) of one rule identity. */
  get(claim: string, value: string, iss: string | null): RuleVersion | undefined {
    const table = this.tables.get(claim);
    const issuer = this.issuers.idOf(iss);
    if (table === undefined || issuer < 0) {
      return undefined;
    }
    const r = table.find(value, hashString(value, this.seed), issuer);
    return r < 0 ? undefined : table.materialize(r);
  }

  /**
   * Drops every version whose `expiresAt` is at or before `nowMs`: no token it could match is
   * still valid, and no older event for it can matter. Meant to run periodically, not per check.
   * Only the due expiry buckets are visited, never the whole list. Returns how many were dropped.
   */
  pruneExpired(nowMs: number): number {
    let dropped = 0;
    for (const table of this.order) {
      dropped += table.prune(nowMs);
    }
    if (dropped > 0) {
      this.changes += 1;
    }
    if (this.order.some((table) => table.count === 0)) {
      this.order = this.order.filter((table) => table.count > 0);
      for (const [claim, table] of this.tables) {
        if (table.count === 0) {
          this.tables.delete(claim);
        }
      }
    }
    return dropped;
  }

  /**
   * Every stored version, live rules and removal markers. The iteration may be interleaved with
   * `apply` and `pruneExpired` (a consumer saving its list to disk keeps applying events): every
   * version that is stored when the iteration starts and not changed before it ends is yielded
   * exactly once; a version changed meanwhile is yielded in its old or new state, or not at all,
   * so the caller replays what was applied since it started (as a restart from saved offsets does).
   */
  *versions(): IterableIterator<RuleVersion> {
    for (const table of [...this.order]) {
      yield* table.versions();
    }
  }

  /**
   * The whole list in the binary snapshot format (see `snapshot/snapshot-layout.ts`: the
   * records and packed values as the list holds them, about 73 bytes per rule with the benchmarks'
   * mix, versioned, with a
   * SHA-256 trailer). {@link DenyList.fromSnapshot} loads it without building an object per
   * rule. `meta` is stored with it: bytes as given, anything else as UTF-8 JSON.
   *
   * @example
   * const bytes = list.toSnapshot({ topic: 'revocation.invalidations.v1', offsets: { '0': '42' } });
   */
  toSnapshot(meta: DenyListSnapshotMeta): Buffer {
    return Buffer.concat([...this.snapshotChunks(meta)]);
  }

  /**
   * {@link DenyList.toSnapshot} as chunks of at most about 1 MiB (concatenated, the same
   * bytes), to stream a large list without one buffer holding all of it. The list is read as
   * the chunks are taken, so it must not change until the last one is: after an `apply` or a
   * `pruneExpired` that changed something, the next chunk throws `snapshot_list_changed` (a
   * {@link DenyListSnapshotError}) and the chunks so far must be discarded.
   *
   * @example
   * for (const chunk of list.snapshotChunks(meta)) {
   *   if (!response.write(chunk)) await once(response, 'drain'); // no apply meanwhile
   * }
   */
  *snapshotChunks(meta: DenyListSnapshotMeta): IterableIterator<Buffer> {
    const start = this.changes;
    yield* encodeSnapshot(
      {
        tables: this.order,
        strings: this.strings,
        issuers: this.issuers,
        lastSeq: this.highestSeq,
      },
      meta,
      () => this.changes !== start,
    );
  }

  /**
   * Loads a list from the bytes of {@link DenyList.toSnapshot}: checks the magic, the format
   * version, the length and the SHA-256 trailer, copies the records and packed values into the
   * new list's typed arrays (the input is not kept) and rebuilds the hash slots and expiry
   * buckets. The list answers `check`, `get`, `apply`, `pruneExpired` and `versions` as the
   * saved one did. Throws {@link DenyListSnapshotError}: `snapshot_truncated`,
   * `snapshot_corrupt`, `snapshot_invalid` (another format or major version, or a body that
   * contradicts itself) or `snapshot_unsupported_platform`.
   *
   * The snapshot holds no hash seed: the loaded list draws its own, and rehashes every value
   * from its packed bytes (no value becomes a string). Reusing the saved list's seed would let
   * the hash slots be copied too (about 18 bytes per rule more on the wire, some 100 ms less per
   * million rules to load), but every enforcement point loading the writer's snapshot would
   * then share one seed, readable by whoever can read a snapshot (the `reader` role, a copy on
   * disk), and values that pile up in one probe run could be computed offline; some rule values
   * come from outside (a reported token's `jti`, a custom claim). A seed per list keeps
   * `randomSeed`'s promise that nobody can precompute colliding values.
   *
   * @example
   * const { list, meta, lastSeq } = DenyList.fromSnapshot(await readFile(path));
   */
  static fromSnapshot(snapshot: Uint8Array): DenyListSnapshot {
    const list = new DenyList();
    const decoded = decodeSnapshot(snapshot, list.seed, (claim) => KINDS.get(claim) ?? OTHER);
    list.strings = decoded.strings;
    list.issuers = decoded.issuers;
    list.highestSeq = decoded.lastSeq;
    for (const table of decoded.tables) {
      list.tables.set(table.claim, table);
    }
    list.order = decoded.tables;
    return {
      list,
      meta: decoded.meta,
      lastSeq: decoded.lastSeq,
      rules: decoded.rules,
      formatVersion: decoded.formatVersion,
    };
  }
}
