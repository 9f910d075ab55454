import type { Client } from 'pg';
import type { EnforcementPoint } from './enforcement';
import { type LoadRecord, type Revocation, stopLoads } from './load';
import {
  type Acknowledgement,
  describeVerdict,
  type EnforcementState,
  judge,
  type Sample,
  type StoreState,
  tokenOf,
  type Verdict,
} from './oracle';

/** What PostgreSQL holds, read in one transaction (one snapshot) on `db` (search_path = schema). */
export async function readStore(db: Client): Promise<StoreState> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const rules = await db.query<{
      rule_key: string;
      seq: string;
      status: string;
      claim: string;
      value: string;
      iss: string | null;
    }>('SELECT rule_key, seq, status, claim, value, iss FROM revocation_rule');
    const processed = await db.query<{ source: string; event_id: string }>(
      'SELECT source, event_id FROM processed_event',
    );
    const versions = await db.query<{
      rule_key: string;
      seq: string;
      source: string;
      source_event_id: string | null;
    }>('SELECT rule_key, seq, source, source_event_id FROM audit_log WHERE seq IS NOT NULL');
    const unpublished = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
    );
    return {
      rules: rules.rows.map((r) => ({
        key: r.rule_key,
        seq: Number(r.seq),
        status: r.status,
        claim: r.claim,
        value: r.value,
        iss: r.iss,
      })),
      processedEvents: processed.rows.map((r) => ({ source: r.source, eventId: r.event_id })),
      versions: versions.rows.map((r) => ({
        key: r.rule_key,
        seq: Number(r.seq),
        source: r.source,
        sourceEventId: r.source_event_id,
      })),
      unpublished: unpublished.rows[0]!.n,
    };
  } finally {
    await db.query('COMMIT');
  }
}

/** Which version of every active rule of `store` the enforcement point holds. */
export async function holdings(ep: EnforcementPoint, store: StoreState): Promise<EnforcementState> {
  const active = store.rules.filter((r) => r.status === 'active');
  const observation = await ep.observe(active.map(tokenOf));
  return {
    name: ep.name,
    held: new Map(active.map((r, i) => [r.key, observation.decisions[i]?.seq ?? null])),
  };
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Observes enforcement points while a fault is on: each in a loop of its own (a SIGSTOPped one
 * must not hold the others back), every `intervalMs`, checking a token of every revocation the
 * loads have sent so far. Keeps, per observation, the keys whose tokens were allowed.
 */
export class Sampler {
  readonly samples: Sample[] = [];
  private readonly loops = new Map<EnforcementPoint, Promise<void>>();
  private readonly watched = new Set<EnforcementPoint>();
  private running = true;

  constructor(
    private readonly sent: () => Revocation[],
    private readonly intervalMs = 50,
  ) {}

  watch(ep: EnforcementPoint): void {
    if (!this.watched.has(ep)) {
      this.watched.add(ep);
      this.loops.set(ep, this.loop(ep));
    }
  }

  async unwatch(ep: EnforcementPoint): Promise<void> {
    this.watched.delete(ep);
    await this.loops.get(ep);
    this.loops.delete(ep);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.values());
    this.loops.clear();
    this.watched.clear();
  }

  private async loop(ep: EnforcementPoint): Promise<void> {
    while (this.running && this.watched.has(ep)) {
      const revocations = this.sent().slice();
      try {
        const o = await ep.observe(revocations.map((r) => r.token));
        this.samples.push({
          ep: ep.name,
          at: o.at,
          fresh: o.fresh,
          stalenessMs: o.stalenessMs,
          allowed: o.decisions.flatMap((d, i) => (d.allowed ? [revocations[i]!.key] : [])),
        });
      } catch {
        // Not answering (paused, killed, restarting): nothing observed.
      }
      await pause(this.intervalMs);
    }
  }
}

/**
 * Notes when each rule key is first seen committed in PostgreSQL (polling): an instant no earlier
 * than its commit, for revocations whose acknowledgement precedes the commit (Kafka inputs).
 */
export class CommitWatcher {
  readonly seenAt = new Map<string, number>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly db: Client,
    intervalMs = 100,
  ) {
    this.loop = (async () => {
      while (this.running) {
        await this.poll().catch(() => undefined);
        await pause(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.poll().catch(() => undefined);
  }

  private async poll(): Promise<void> {
    const { rows } = await this.db.query<{ rule_key: string }>(
      'SELECT rule_key FROM revocation_rule',
    );
    const now = Date.now();
    for (const { rule_key } of rows) {
      if (!this.seenAt.has(rule_key)) {
        this.seenAt.set(rule_key, now);
      }
    }
  }
}

/**
 * After the fault is healed: waits (bounded) until every acknowledged event is in PostgreSQL
 * (Kafka inputs are taken after their acknowledgement), the outbox is empty, and every enforcement
 * point is fresh and holds every active rule at PostgreSQL's version, then returns what it last
 * read, settled or not: the oracle judges, this only gives the system its time.
 */
export async function settle(
  db: Client,
  eps: EnforcementPoint[],
  acks: Acknowledgement[],
  timeoutMs = 30_000,
  stillRunning: () => boolean = () => true,
): Promise<{ store: StoreState; enforcement: EnforcementState[]; settled: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const store = await readStore(db);
    const processed = new Set(store.processedEvents.map((e) => `${e.source}/${e.eventId}`));
    const stored = acks.every((a) => processed.has(`${a.source}/${a.eventId}`));
    const enforcement: EnforcementState[] = [];
    let fresh = true;
    for (const ep of eps) {
      try {
        enforcement.push(await holdings(ep, store));
        fresh &&= (await ep.observe([])).fresh;
      } catch {
        enforcement.push({ name: ep.name, held: new Map() });
        fresh = false;
      }
    }
    const active = store.rules.filter((r) => r.status === 'active');
    const converged = enforcement.every((e) => active.every((r) => e.held.get(r.key) === r.seq));
    const settled = stored && store.unpublished === 0 && fresh && converged;
    // What would settle it is gone (a crashed writer): waiting longer cannot help.
    if (settled || Date.now() > deadline || !stillRunning()) {
      return { store, enforcement, settled };
    }
    await pause(200);
  }
}

/** Runs not finished yet: {@link stopChaos} stops their loops after a failed test. */
const unfinished = new Set<ChaosRun>();

/**
 * For `afterEach`: stops what a test that failed half way left running (its loads, and the
 * sampling and watching of its run), so that the file's other tests and its teardown go on.
 */
export async function stopChaos(): Promise<void> {
  await stopLoads();
  await Promise.all([...unfinished].map((run) => run.abort()));
}

/**
 * One fault scenario's bookkeeping: the sampler and the commit watcher run from `constructor`
 * to `finish()`, which settles, judges and prints the verdict.
 */
export class ChaosRun {
  readonly sampler: Sampler;
  private readonly watcher: CommitWatcher;

  constructor(
    readonly name: string,
    private readonly db: Client,
    private readonly loads: LoadRecord[],
    eps: EnforcementPoint[],
    watcherDb: Client,
  ) {
    this.sampler = new Sampler(() => this.loads.flatMap((l) => l.sent));
    eps.forEach((ep) => this.sampler.watch(ep));
    this.watcher = new CommitWatcher(watcherDb);
    unfinished.add(this);
  }

  /** Stops sampling and watching without judging. */
  async abort(): Promise<void> {
    unfinished.delete(this);
    await this.sampler.stop();
    await this.watcher.stop();
  }

  /** Settles (bounded), then judges everything recorded against the final state. */
  async finish(
    eps: EnforcementPoint[],
    options: {
      settleTimeoutMs?: number;
      expectedVersions?: number;
      /** False once what the settling waits for cannot happen any more (the writer died). */
      stillRunning?: () => boolean;
    } = {},
  ): Promise<Verdict> {
    const acks = this.loads.flatMap((l) => l.acks);
    const settleStarted = Date.now();
    const { store, enforcement, settled } = await settle(
      this.db,
      eps,
      acks,
      options.settleTimeoutMs,
      options.stillRunning,
    );
    await this.abort();
    const verdict = judge({
      acks,
      committedSeenAt: this.watcher.seenAt,
      store,
      enforcement,
      samples: this.sampler.samples,
      ...(options.expectedVersions !== undefined && {
        expectedVersions: options.expectedVersions,
      }),
    });
    const outcomes = this.loads
      .map((l) => [...l.outcomes].map(([k, v]) => `${k}:${v}`).join(' '))
      .join(' | ');
    process.stdout.write(
      `${describeVerdict(this.name, verdict)}\n  outcomes ${outcomes}; ${settled ? 'settled' : 'NOT settled'} after ${Date.now() - settleStarted} ms\n`,
    );
    return verdict;
  }
}

/**
 * Waits (bounded) until `load` has `more` acknowledgements beyond what it has now; `alive` throws
 * if what should acknowledge them is gone.
 */
export async function acknowledgedMore(
  load: LoadRecord,
  more: number,
  { timeoutMs = 30_000, alive }: { timeoutMs?: number; alive?: () => void } = {},
): Promise<void> {
  const target = load.acks.length + more;
  const deadline = Date.now() + timeoutMs;
  while (load.acks.length < target) {
    alive?.(); // a dead writer says why, rather than a timeout later
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${more} more acknowledgements (${load.acks.length}/${target})`,
      );
    }
    await pause(20);
  }
}
