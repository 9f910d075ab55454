/**
 * The DenyList as it was before the compact rewrite (commit 9152e78, libs/rules/src/deny-list.ts),
 * kept verbatim but for its imports so `BENCH_IMPL=baseline npm run bench` can measure both
 * on the same machine in the same conditions. Benchmark-only: not exported, not tested.
 */
import type { InvalidationEventV1 } from '@rescind/contracts';
import { type Decision, type RuleVersion, revokes, type TokenClaims } from '@rescind/rules';

/** Versions of one (claim, value): the issuer-independent one and per-issuer ones. */
interface Slot {
  anyIssuer?: RuleVersion;
  byIssuer?: Map<string, RuleVersion>;
}

const NOT_REVOKED: Decision = Object.freeze({ revoked: false });

/** Width of an expiry bucket: rules are pruned at most this late. */
const EXPIRY_BUCKET_MS = 10_000;

/**
 * An in-memory deny-list: a last-writer-wins register per rule key, ordered by `seq`.
 * Applying the same events in any order, any number of times, converges to the same state.
 *
 * Lookups are per claim of the token (a handful of hash lookups), never a scan.
 *
 * @example
 * const list = new DenyList();
 * list.apply(event); // from the invalidation topic
 * list.check({ sub: 'alice', iss: 'https://idp.example', iat: 1700000000 });
 */
export class DenyList {
  /** claim -> value -> versions. Only claims that have rules appear here. */
  private readonly index = new Map<string, Map<string, Slot>>();
  /** Versions by expiry bucket, so pruning visits only what is due. */
  private readonly expiries = new Map<number, RuleVersion[]>();
  private liveRules = 0;
  private highestSeq = 0;

  /** Number of rules that currently revoke something (removal markers excluded). */
  get size(): number {
    return this.liveRules;
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
    const current = this.get(claim, value, iss);
    if (current && current.seq >= event.seq) {
      return undefined;
    }
    const version: RuleVersion =
      event.type === 'rule.set'
        ? {
            ...event.rule,
            key: event.key,
            seq: event.seq,
            revocationId: event.revocationId,
            removed: false,
          }
        : {
            claim,
            value,
            iss,
            revokedBefore: null,
            expiresAt: event.expiresAt,
            key: event.key,
            seq: event.seq,
            revocationId: event.revocationId,
            removed: true,
          };
    this.put(version);
    this.liveRules += (version.removed ? 0 : 1) - (current && !current.removed ? 1 : 0);
    if (event.seq > this.highestSeq) {
      this.highestSeq = event.seq;
    }
    return version;
  }

  /**
   * Is a token with these claims revoked? Checks every claim that has rules, issuer-independent
   * rules and rules restricted to the token's `iss`. `client_id` falls back to `azp`.
   */
  check(claims: TokenClaims): Decision {
    for (const [claim, byValue] of this.index) {
      const value = claim === 'client_id' ? (claims.client_id ?? claims.azp) : claims[claim];
      if (typeof value !== 'string') {
        continue;
      }
      const slot = byValue.get(value);
      if (slot === undefined) {
        continue;
      }
      const any = slot.anyIssuer;
      if (any !== undefined && !any.removed && revokes(any, claims.iat)) {
        return { revoked: true, rule: any };
      }
      if (slot.byIssuer !== undefined && typeof claims.iss === 'string') {
        const scoped = slot.byIssuer.get(claims.iss);
        if (scoped !== undefined && !scoped.removed && revokes(scoped, claims.iat)) {
          return { revoked: true, rule: scoped };
        }
      }
    }
    return NOT_REVOKED;
  }

  /** The stored version (live or removal marker) of one rule identity. */
  get(claim: string, value: string, iss: string | null): RuleVersion | undefined {
    const slot = this.index.get(claim)?.get(value);
    if (slot === undefined) {
      return undefined;
    }
    return iss === null ? slot.anyIssuer : slot.byIssuer?.get(iss);
  }

  /**
   * Drops every version whose `expiresAt` is at or before `nowMs`: no token it could match is
   * still valid, and no older event for it can matter. Meant to run periodically, not per check.
   * Only the due expiry buckets are visited, never the whole list. Returns how many were dropped.
   */
  pruneExpired(nowMs: number): number {
    let dropped = 0;
    const due = Math.floor(nowMs / EXPIRY_BUCKET_MS);
    for (const [bucket, versions] of this.expiries) {
      if (bucket > due) {
        continue;
      }
      const notYet: RuleVersion[] = [];
      for (const version of versions) {
        // A newer version of the same rule may have replaced this one (and has its own bucket).
        if (this.get(version.claim, version.value, version.iss) !== version) {
          continue;
        }
        if (version.expiresAt! > nowMs) {
          notYet.push(version);
          continue;
        }
        this.remove(version);
        dropped += 1;
      }
      if (notYet.length > 0) {
        this.expiries.set(bucket, notYet);
      } else {
        this.expiries.delete(bucket);
      }
    }
    return dropped;
  }

  /** Every stored version, live rules and removal markers. */
  *versions(): IterableIterator<RuleVersion> {
    for (const byValue of this.index.values()) {
      for (const slot of byValue.values()) {
        if (slot.anyIssuer) {
          yield slot.anyIssuer;
        }
        if (slot.byIssuer) {
          yield* slot.byIssuer.values();
        }
      }
    }
  }

  private remove(version: RuleVersion): void {
    const byValue = this.index.get(version.claim)!;
    const slot = byValue.get(version.value)!;
    if (version.iss === null) {
      slot.anyIssuer = undefined;
    } else {
      slot.byIssuer!.delete(version.iss);
      if (slot.byIssuer!.size === 0) {
        slot.byIssuer = undefined;
      }
    }
    if (slot.anyIssuer === undefined && slot.byIssuer === undefined) {
      byValue.delete(version.value);
      if (byValue.size === 0) {
        this.index.delete(version.claim);
      }
    }
    if (!version.removed) {
      this.liveRules -= 1;
    }
  }

  private put(version: RuleVersion): void {
    let byValue = this.index.get(version.claim);
    if (byValue === undefined) {
      byValue = new Map();
      this.index.set(version.claim, byValue);
    }
    let slot = byValue.get(version.value);
    if (slot === undefined) {
      slot = {};
      byValue.set(version.value, slot);
    }
    if (version.iss === null) {
      slot.anyIssuer = version;
    } else {
      (slot.byIssuer ??= new Map()).set(version.iss, version);
    }
    if (version.expiresAt !== null) {
      const bucket = Math.floor(version.expiresAt / EXPIRY_BUCKET_MS);
      const versions = this.expiries.get(bucket);
      if (versions) {
        versions.push(version);
      } else {
        this.expiries.set(bucket, [version]);
      }
    }
  }
}
