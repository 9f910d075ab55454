/**
 * The chaos tier's oracle (Jepsen-style): given what clients were told, what PostgreSQL holds,
 * what every enforcement point holds at the end, and what enforcement points answered while the
 * fault was on, it counts the three ways Rescind can break its promises. Pure: no I/O, so its
 * own spec (test/chaos/oracle.spec.ts) can feed it broken histories and prove it can fail.
 *
 * Definitions (docs/design.md "Promises"; libs/revocation-consumer freshness.ts, status.ts):
 *
 * - **acknowledged**: an input event the client was told is taken. Over HTTP, a 2xx answer
 *   (the writer answers only after its transaction committed). Over Kafka, the producer's
 *   `acks: -1` for the message on the input topic: the writer then owes it, eventually.
 *
 * - **lost**, counted once per event or per (enforcement point, rule):
 *   - in the store: an acknowledged event without its `processed_event` row, or whose rule is
 *     not in `revocation_rule` as `active` at (at least) the `seq` its answer named;
 *   - at an enforcement point: an active rule of PostgreSQL (acknowledged or not: a rule the
 *     writer committed but could not answer for must converge too) that the enforcement point,
 *     once settled, does not hold at exactly PostgreSQL's `seq` (absent, or an older version).
 *   So lost = 0 is "acknowledged ⊆ PostgreSQL ⊆ every deny-list".
 *
 * - **duplicated**, counted in surplus versions: every event in the load revokes exactly
 *   `expectedVersions` rule versions (one per rule it maps to: 1 for the events the chaos load
 *   sends). A version is an audit record with a `seq` (the journal writes one, with its outbox
 *   row, per rule change, in the change's transaction) attributed to `(source, event id)`.
 *   An acknowledged event with more versions than expected was applied more than once (a retry,
 *   a redelivery or a second writer not absorbed by idempotency). Also surplus: answers for one
 *   event naming different `seq`s (a retry answered as a new change instead of the first one).
 *
 * - **wrongly allowed**, counted in decisions: the promise of a fresh enforcement point, as the
 *   consumer states it. A heartbeat it has read on a partition proves that every revocation
 *   acknowledged before the heartbeat's `publishedThrough` was on that partition ahead of it,
 *   hence applied; `status().stalenessMs` is the age of the oldest partition's proof. So at the
 *   instant `at` of a check, everything acknowledged before `at - stalenessMs` is applied. A
 *   sample is (enforcement point, `at`, `status().stale`, `status().stalenessMs`, the keys whose
 *   tokens `check()` allowed), all taken in one synchronous step. A decision is wrongly allowed
 *   when the point reported fresh (`stale: false`), `check()` allowed the token, and the
 *   token's rule was acknowledged before `at - stalenessMs`. "Acknowledged before" needs an
 *   instant no earlier than the writer's commit: the client's receipt of the HTTP 2xx, or the
 *   first time the test saw the rule committed in PostgreSQL (Kafka inputs: the producer's
 *   acknowledgement precedes the commit, so it cannot be used). Both are upper bounds of the
 *   commit, so the check never blames the consumer for what it was not promised. Deliberately
 *   not `at - maxStalenessMs`: the `stale` flag is updated on a timer (≤ 250 ms), so a point may
 *   still say fresh for a moment after its proof aged past the bound; `stalenessMs` is exact.
 */
import type { TokenClaims } from '@rescind/revocation-consumer';

export type Transport = 'http' | 'kafka';

/** One acknowledgement the client received (an event retried and answered twice: two). */
export interface Acknowledgement {
  source: string;
  eventId: string;
  /** The rule key the event revokes (`ruleKey` of libs/contracts). */
  key: string;
  via: Transport;
  /** When the client got the acknowledgement (ms, this host's clock). */
  ackedAt: number;
  /** The `seq` the answer named (HTTP), if any. */
  seq?: number;
}

export interface StoredRule {
  key: string;
  seq: number;
  status: string;
  claim: string;
  value: string;
  iss: string | null;
}

/** One rule version as journaled: an audit record with a `seq`. */
export interface StoredVersion {
  key: string;
  seq: number;
  source: string;
  sourceEventId: string | null;
}

/** What PostgreSQL holds at the end. */
export interface StoreState {
  rules: StoredRule[];
  processedEvents: Array<{ source: string; eventId: string }>;
  versions: StoredVersion[];
  /** Outbox rows not yet published (diagnostic: a settled system has none). */
  unpublished: number;
}

/** What one enforcement point holds at the end: per active rule key of the store, the `seq` it holds (null: it does not revoke the rule's token). */
export interface EnforcementState {
  name: string;
  held: Map<string, number | null>;
}

/** One synchronous observation of an enforcement point during the run. */
export interface Sample {
  ep: string;
  /** The point's wall clock when it checked (ms), read before `status()`. */
  at: number;
  /** `!status().stale`. */
  fresh: boolean;
  stalenessMs: number | null;
  /** Keys whose tokens `check()` allowed. */
  allowed: string[];
}

export interface History {
  acks: Acknowledgement[];
  /** Per rule key, when the test first saw it committed in PostgreSQL (ms, this host). */
  committedSeenAt?: Map<string, number>;
  store: StoreState;
  enforcement: EnforcementState[];
  samples: Sample[];
  /** Rule versions each event must produce (default 1). */
  expectedVersions?: number;
}

export interface LostItem {
  /** `store`, or the name of the enforcement point. */
  where: string;
  key: string;
  eventId?: string;
  why: string;
}

export interface DuplicateItem {
  source: string;
  eventId: string;
  surplus: number;
  why: string;
}

export interface WrongAllowItem {
  ep: string;
  key: string;
  at: number;
  stalenessMs: number;
  /** How long before the proof's instant (`at - stalenessMs`) the revocation was acknowledged. */
  provenForMs: number;
}

export interface Verdict {
  lost: number;
  duplicated: number;
  wronglyAllowed: number;
  lostItems: LostItem[];
  duplicateItems: DuplicateItem[];
  /** The first wrongly allowed decision per (enforcement point, key). */
  wrongAllowItems: WrongAllowItem[];
  /** Context for the printout. */
  stats: {
    acknowledged: number;
    events: number;
    storedRules: number;
    samples: number;
    freshSamples: number;
    allowedChecks: number;
    /** Largest `stalenessMs` of a sample that said fresh (how late the flag can turn). */
    maxFreshStalenessMs: number | null;
    unpublished: number;
  };
}

const eventKey = (source: string, eventId: string): string => `${source}\u0000${eventId}`;

/** Judges a history: the three counts, each with what it counted. */
export function judge(history: History): Verdict {
  const expectedVersions = history.expectedVersions ?? 1;
  const events = new Map<string, Acknowledgement[]>();
  for (const ack of history.acks) {
    const k = eventKey(ack.source, ack.eventId);
    events.set(k, [...(events.get(k) ?? []), ack]);
  }
  const rules = new Map(history.store.rules.map((r) => [r.key, r]));
  const processed = new Set(
    history.store.processedEvents.map((e) => eventKey(e.source, e.eventId)),
  );
  const versionsByEvent = new Map<string, number>();
  for (const v of history.store.versions) {
    if (v.sourceEventId !== null) {
      const k = eventKey(v.source, v.sourceEventId);
      versionsByEvent.set(k, (versionsByEvent.get(k) ?? 0) + 1);
    }
  }

  const lostItems: LostItem[] = [];
  const duplicateItems: DuplicateItem[] = [];
  for (const [k, acks] of events) {
    const { source, eventId, key } = acks[0]!;
    const seqs = [...new Set(acks.flatMap((a) => (a.seq === undefined ? [] : [a.seq])))];
    const rule = rules.get(key);
    if (!processed.has(k)) {
      lostItems.push({ where: 'store', key, eventId, why: 'no processed_event row' });
    } else if (rule === undefined || rule.status !== 'active') {
      lostItems.push({
        where: 'store',
        key,
        eventId,
        why: rule ? `rule is ${rule.status}` : 'no rule',
      });
    } else if (seqs.length > 0 && rule.seq < Math.max(...seqs)) {
      lostItems.push({
        where: 'store',
        key,
        eventId,
        why: `rule at seq ${rule.seq}, acknowledged at ${Math.max(...seqs)}`,
      });
    }
    const versions = versionsByEvent.get(k) ?? 0;
    if (versions > expectedVersions) {
      duplicateItems.push({
        source,
        eventId,
        surplus: versions - expectedVersions,
        why: `${versions} rule versions journaled, ${expectedVersions} expected`,
      });
    }
    if (seqs.length > 1) {
      duplicateItems.push({
        source,
        eventId,
        surplus: seqs.length - 1,
        why: `answers named seqs ${seqs.join(', ')}`,
      });
    }
  }

  const active = history.store.rules.filter((r) => r.status === 'active');
  for (const ep of history.enforcement) {
    for (const rule of active) {
      const held = ep.held.get(rule.key) ?? null;
      if (held !== rule.seq) {
        lostItems.push({
          where: ep.name,
          key: rule.key,
          why:
            held === null
              ? `not held (store: seq ${rule.seq})`
              : `holds seq ${held}, store ${rule.seq}`,
        });
      }
    }
  }

  // The earliest instant, no earlier than a commit, from which each key was revoked in the store.
  const revokedSince = new Map<string, number>();
  const earliest = (key: string, at: number): void => {
    revokedSince.set(key, Math.min(revokedSince.get(key) ?? Infinity, at));
  };
  for (const ack of history.acks) {
    if (ack.via === 'http') {
      earliest(ack.key, ack.ackedAt);
    }
  }
  for (const [key, at] of history.committedSeenAt ?? []) {
    earliest(key, at);
  }
  const acknowledgedKeys = new Set(history.acks.map((a) => a.key));

  let wronglyAllowed = 0;
  let freshSamples = 0;
  let allowedChecks = 0;
  let maxFreshStalenessMs: number | null = null;
  const firstWrong = new Map<string, WrongAllowItem>();
  for (const sample of history.samples) {
    allowedChecks += sample.allowed.length;
    if (!sample.fresh || sample.stalenessMs === null) {
      continue;
    }
    freshSamples += 1;
    maxFreshStalenessMs = Math.max(maxFreshStalenessMs ?? 0, sample.stalenessMs);
    const provenBefore = sample.at - sample.stalenessMs;
    for (const key of sample.allowed) {
      const since = revokedSince.get(key);
      if (since === undefined || !acknowledgedKeys.has(key) || since >= provenBefore) {
        continue;
      }
      wronglyAllowed += 1;
      const id = `${sample.ep}\u0000${key}`;
      if (!firstWrong.has(id)) {
        firstWrong.set(id, {
          ep: sample.ep,
          key,
          at: sample.at,
          stalenessMs: sample.stalenessMs,
          provenForMs: provenBefore - since,
        });
      }
    }
  }

  return {
    lost: lostItems.length,
    duplicated: duplicateItems.reduce((sum, d) => sum + d.surplus, 0),
    wronglyAllowed,
    lostItems,
    duplicateItems,
    wrongAllowItems: [...firstWrong.values()],
    stats: {
      acknowledged: history.acks.length,
      events: events.size,
      storedRules: history.store.rules.length,
      samples: history.samples.length,
      freshSamples,
      allowedChecks,
      maxFreshStalenessMs,
      unpublished: history.store.unpublished,
    },
  };
}

/** One line with the counts and context, then up to `limit` examples of each. */
export function describeVerdict(name: string, verdict: Verdict, limit = 5): string {
  const s = verdict.stats;
  const lines = [
    `[chaos] ${name}: lost=${verdict.lost} duplicated=${verdict.duplicated} wronglyAllowed=${verdict.wronglyAllowed}` +
      ` (acknowledged ${s.acknowledged} answers for ${s.events} events, ${s.storedRules} rules stored,` +
      ` ${s.unpublished} unpublished; ${s.samples} samples, ${s.freshSamples} fresh,` +
      ` ${s.allowedChecks} allowed checks; max staleness while fresh ${s.maxFreshStalenessMs ?? '-'} ms)`,
    ...verdict.lostItems
      .slice(0, limit)
      .map((l) => `  lost at ${l.where}: ${l.key} ${l.eventId ?? ''} ${l.why}`),
    ...verdict.duplicateItems
      .slice(0, limit)
      .map((d) => `  duplicated: ${d.source}/${d.eventId} ${d.why}`),
    ...verdict.wrongAllowItems
      .slice(0, limit)
      .map(
        (w) =>
          `  wrongly allowed at ${w.ep}: ${w.key} at ${w.at} while fresh (staleness ${w.stalenessMs} ms), acknowledged ${w.provenForMs} ms before the proof`,
      ),
  ];
  return lines.join('\n');
}

/** The token a rule revokes, issued a minute ago (rules of the chaos load revoke every token). */
export function tokenOf(rule: Pick<StoredRule, 'claim' | 'value' | 'iss'>): TokenClaims {
  return {
    [rule.claim]: rule.value,
    ...(rule.iss === null ? {} : { iss: rule.iss }),
    iat: Math.floor(Date.now() / 1000) - 60,
  };
}
