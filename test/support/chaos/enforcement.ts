import type { RevocationConsumer, TokenClaims } from '@rescind/revocation-consumer';

/** One decision of an observation: what `check()` answered, and the `seq` of the rule it named. */
export interface ObservedDecision {
  allowed: boolean;
  reason: string;
  seq: number | null;
}

/**
 * What an enforcement point said in one synchronous step: the time, its freshness (`status()`),
 * then `check()` of each token, with nothing in between that could change the list.
 */
export interface Observation {
  at: number;
  fresh: boolean;
  ready: boolean;
  stalenessMs: number | null;
  lastSeq: number;
  decisions: ObservedDecision[];
}

/** An enforcement point the chaos tests observe: in this process, or a process of its own. */
export interface EnforcementPoint {
  readonly name: string;
  observe(tokens: TokenClaims[]): Promise<Observation>;
}

/**
 * Observes a consumer: the clock first (so `at - stalenessMs` is never later than the proof's
 * instant), then `status()`, then every `check()`, all synchronous.
 */
export function observeConsumer(consumer: RevocationConsumer, tokens: TokenClaims[]): Observation {
  const at = Date.now();
  const status = consumer.status();
  const decisions = tokens.map((token): ObservedDecision => {
    const d = consumer.check(token);
    return { allowed: d.allowed, reason: d.reason, seq: d.revoked ? d.rule.seq : null };
  });
  return {
    at,
    fresh: !status.stale,
    ready: status.ready,
    stalenessMs: status.stalenessMs,
    lastSeq: status.lastSeq,
    decisions,
  };
}

/** A consumer of this process as an {@link EnforcementPoint}. */
export function inProcess(name: string, consumer: RevocationConsumer): EnforcementPoint {
  return { name, observe: (tokens) => Promise.resolve(observeConsumer(consumer, tokens)) };
}
