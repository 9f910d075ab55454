// One file past the ~400-line convention on purpose for now: bootstrap, the apply loop, freshness
// and persistence share the consumer's state (pinned offsets, the list, the group session). The
// split by job (bootstrap, apply, status) is planned with the codebase refactor (issue 10).
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  context,
  metrics,
  type Observable,
  type ObservableCallback,
  propagation,
  trace,
} from '@opentelemetry/api';
import { type HeartbeatV1, InvalidationMessageV1Schema, Topics } from '@rescind/contracts';
import { DenyList, type RuleVersion, type TokenClaims } from '@rescind/rules';
import { type Consumer, type EachBatchPayload, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { Freshness, type StalenessPolicy } from './freshness';
import { loadList, saveList } from './persistence';
import { loadSnapshot, type SnapshotSource } from './snapshot';
import { identityOfKey, tombstoneOutcome } from './tombstone';
import {
  heldRevocation,
  identify,
  issueReason,
  keptEvent,
  UNREADABLE_RULES_METRIC,
  type UnreadableLine,
  unreadableLine,
  UnreadableRules,
  type UnreadableRulesStatus,
} from './unreadable-rules';

/** Where the consumer reports what it does; defaults to silence. Compatible with pino and console. */
export interface ConsumerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Options of {@link createRevocationConsumer}.
 *
 * @example
 * const options: RevocationConsumerOptions = {
 *   brokers: ['kafka:9092'],
 *   snapshot: { url: 'http://rescind:3000/v1/deny-list/snapshot', token: process.env.RESCIND_TOKEN! },
 *   stalenessPolicy: 'fail-closed',
 * };
 */
export interface RevocationConsumerOptions {
  /** Kafka bootstrap servers. */
  brokers: string[];
  /** Invalidation topic. Default `revocation.invalidations.v1`. */
  topic?: string;
  /**
   * Load the current deny-list from the writer at start-up, then follow the topic from the
   * offsets pinned just before. Without it, the topic is read from its beginning (it is
   * compacted, so it holds the latest version of every rule).
   */
  snapshot?: SnapshotSource;
  /** What `check` does while the list may be out of date. Default `fail-closed`. */
  stalenessPolicy?: StalenessPolicy;
  /**
   * The staleness bound (ms): the list is stale while a revocation the writer acknowledged longer
   * ago than this may not be applied here. Judged from the writer's heartbeats on every
   * partition: each says, with the writer's own clock, up to when everything acknowledged is on
   * the topic ahead of it. So heartbeats that stop, an outbox that does not publish, and a
   * restart (stale until the first heartbeat) all count. Clock skew between this host and the
   * writer counts into it (ahead: stale sooner; behind: see `status().writerClockAheadMs`).
   * Default 5000; keep it several times the writer's HEARTBEAT_INTERVAL_MS.
   */
  maxStalenessMs?: number;
  /** Kafka client id. Default `rescind-consumer`. */
  clientId?: string;
  /**
   * Prefix of the consumer group id. Every instance appends a unique suffix: each enforcement
   * point must see every event, so instances never share a group. Default `rescind-consumer`.
   */
  groupIdPrefix?: string;
  /** Extra kafkajs client settings (ssl, sasl, connectionTimeout, ...). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
  /** Consumer group session timeout (ms). Default 10000. */
  sessionTimeoutMs?: number;
  /** Consumer group heartbeat interval (ms). Default 1000. */
  heartbeatIntervalMs?: number;
  /**
   * Longest time a fetch waits for new events (ms). Apache Kafka answers a waiting fetch as soon
   * as an event arrives, so this bounds idle polling, not latency (measured in BENCHMARKS.md:
   * the same p50 with 100 and 1000). Default 1000.
   */
  maxWaitTimeMs?: number;
  /** How often rules whose tokens have all expired are dropped (ms). Default 60000. */
  pruneIntervalMs?: number;
  /**
   * Keep a copy of the list on disk: written atomically every `persistIntervalMs` and on stop,
   * so an enforcement point can restart while the writer is down. On start it is used, and the
   * topic read from where it was saved, when there is no `snapshot` or the snapshot cannot be
   * loaded (a snapshot is always the fresher state). A corrupt or foreign file is ignored with
   * a warning, never trusted.
   */
  persistPath?: string;
  /** How often the list is saved to `persistPath` (ms). Default 30000. */
  persistIntervalMs?: number;
  logger?: ConsumerLogger;
}

/**
 * The answer of {@link RevocationConsumer.check}. `allowed` is what to do; `reason` says why, so
 * a gateway can answer 401 (`revoked`) or 503 (`stale`, `not-ready`) correctly.
 *
 * @example
 * const decision = consumer.check(claims);
 * if (!decision.allowed) reply.code(decision.reason === 'revoked' ? 401 : 503);
 */
export type CheckDecision =
  | { allowed: true; revoked: false; reason: 'allowed' }
  /**
   * The list is stale and the policy lets requests through: `fail-open` always, `keep-last`
   * once a list was loaded.
   */
  | { allowed: true; revoked: false; reason: 'stale-allowed' }
  | { allowed: false; revoked: true; reason: 'revoked'; rule: RuleVersion }
  /**
   * `stale`: fail-closed and the list is stale. `not-ready`: fail-closed before the list caught
   * up with the topic, or keep-last before any list was loaded.
   */
  | { allowed: false; revoked: false; reason: 'stale' | 'not-ready' };

/**
 * What {@link RevocationConsumer.status} reports.
 *
 * @example
 * const { ready, stale, rules, lastSeq } = consumer.status();
 */
export interface ConsumerStatus {
  /** Snapshot loaded (if configured), joined, and caught up with the topic as it was at start. */
  ready: boolean;
  /**
   * Not ready, or no heartbeat proves that every revocation acknowledged longer ago than
   * `maxStalenessMs` is applied (see `stalenessMs`): the staleness policy applies.
   */
  stale: boolean;
  policy: StalenessPolicy;
  /**
   * At most how long ago (ms) a revocation was acknowledged that this list may still miss: the
   * oldest partition's proof. Null before ready, or while a partition has had no heartbeat.
   */
  stalenessMs: number | null;
  /** Rules that currently revoke something. */
  rules: number;
  /** Highest `seq` applied. */
  lastSeq: number;
  /**
   * Highest committed `seq` the writer announced in a heartbeat. Diagnostic only: `lastSeq` may
   * stay below it for good (tombstones carry no `seq`), so freshness is judged by `stalenessMs`.
   */
  writerSeq: number;
  /** At least how far the writer's clock runs ahead of this host's (ms), from heartbeats. */
  writerClockAheadMs: number;
  /** When the last rule change was applied (ms), or null. */
  lastAppliedAt: number | null;
  /**
   * Per partition: messages not yet consumed; the age of the latest heartbeat (from the writer's
   * `at`; null before the first) and how far publishing lagged when it was sent; and the age of
   * the partition's best proof (its share of `stalenessMs`).
   */
  partitions: Array<{
    partition: number;
    lag: number | null;
    heartbeatAgeMs: number | null;
    publishLagMs: number | null;
    heartbeatSeq: number | null;
    stalenessMs: number | null;
  }>;
  /**
   * Tombstones (pruned rules) that removed the version held, and those ignored because the
   * version held had not expired by this host's clock (a clock behind the writer's).
   */
  tombstones: { removed: number; ignored: number };
  /** Decisions so far by reason. */
  decisions: Record<CheckDecision['reason'], number>;
  /** Messages on the topic that were not valid invalidation messages and were skipped. */
  invalidMessages: number;
  /**
   * Rule lines of the snapshot and messages of the topic that could not be read and were
   * skipped (the consumer still becomes ready), with the last one: when, where, why, and its key
   * or fingerprint. An older readable version of its key, if held, is kept (`last.keptSeq`).
   * Also the `rescind.consumer.unreadable_rules{source}` counter; alert on it.
   */
  unreadableRules: UnreadableRulesStatus;
  lastError: string | null;
  /** The on-disk copy (`persistPath`), or null without one. */
  persistence: {
    path: string;
    /** When the last save completed (ms), or null before the first. */
    lastSavedAt: number | null;
    /** Rule versions (removal markers included) in the last save. */
    lastSavedRules: number | null;
    /** Why the last save failed, or null when it succeeded. */
    lastError: string | null;
  } | null;
}

/**
 * Emitted with every rule version that changed the deny-list.
 *
 * @example
 * consumer.on('rule', ({ rule, latencyMs }) => log.info({ key: rule.key, latencyMs }));
 */
export interface RuleAppliedEvent {
  rule: RuleVersion;
  /** Time from the writer's commit to this apply (ms); includes clock skew between hosts. */
  latencyMs: number;
}

interface ConsumerEvents {
  rule: [RuleAppliedEvent];
  invalid: [{ partition: number; offset: string; reason: string }];
  stale: [{ heartbeatAgeMs: number | null; stalenessMs: number | null }];
  fresh: [];
  ready: [];
}

const silent: ConsumerLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const tracer = trace.getTracer('rescind-revocation-consumer');
/** Longest pause between two bootstrap attempts while the broker or the writer is unreachable. */
const BOOTSTRAP_MAX_BACKOFF_MS = 10_000;
/** Unreadable snapshot lines warned about one by one; the rest are summed up in one warning. */
const SNAPSHOT_WARNINGS = 10;

const ALLOWED: CheckDecision = Object.freeze({ allowed: true, revoked: false, reason: 'allowed' });
const STALE_ALLOWED: CheckDecision = Object.freeze({
  allowed: true,
  revoked: false,
  reason: 'stale-allowed',
});
const STALE_DENIED: CheckDecision = Object.freeze({
  allowed: false,
  revoked: false,
  reason: 'stale',
});
const NOT_READY: CheckDecision = Object.freeze({
  allowed: false,
  revoked: false,
  reason: 'not-ready',
});

/**
 * Keeps a local deny-list current from the invalidation topic and answers `check(claims)` in
 * memory, with no network call on the request path. Create it with
 * {@link createRevocationConsumer}.
 *
 * @example
 * const consumer = createRevocationConsumer({ brokers: ['kafka:9092'] });
 * await consumer.start();
 * await consumer.ready();
 * if (!consumer.check(jwtPayload).allowed) reply.code(401);
 */
export class RevocationConsumer extends EventEmitter<ConsumerEvents> {
  /** Replaced at most once, at start-up, by the saved list when no snapshot could be loaded. */
  private list = new DenyList();
  /** The save to `persistPath` in progress, if any: saves never overlap. */
  private saving: Promise<void> | null = null;
  /** `stop()` was called: the consumer is done for good (its metrics are unregistered). */
  private stopped = false;
  /** Aborted by `stop()`: ends a bootstrap that is waiting for the broker or the writer. */
  private starting: AbortController | null = null;
  private lastSave: { at: number | null; rules: number | null; error: string | null } = {
    at: null,
    rules: null,
    error: null,
  };
  private readonly topic: string;
  private readonly logger: ConsumerLogger;
  private readonly kafka: Kafka;
  private readonly policy: StalenessPolicy;
  private readonly freshness: Freshness;
  private consumer: Consumer | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Per partition: the offset to read from (pinned at start) and the last offset to catch up to. */
  private readonly pinned = new Map<number, { from: bigint; catchUpTo: bigint | null }>();
  private readonly highWatermarks = new Map<number, bigint>();
  private readonly consumedOffsets = new Map<number, bigint>();
  private joined = false;
  private caughtUp = false;
  /** A list was loaded at some point (snapshot, saved list, or caught up with the topic). */
  private loaded = false;
  private readonly tombstones = { removed: 0, ignored: 0 };
  /** Warned about a writer clock ahead of ours (once per consumer). */
  private skewWarned = false;
  /** Read by `check`: updated on a timer and on transitions, so checks never read the clock. */
  private stale = true;
  private readonly readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly freshWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private lastAppliedAt: number | null = null;
  private invalidMessages = 0;
  private readonly unreadable = new UnreadableRules();
  private lastError: string | null = null;
  private readonly decisions: Record<CheckDecision['reason'], number> = {
    allowed: 0,
    'stale-allowed': 0,
    revoked: 0,
    stale: 0,
    'not-ready': 0,
  };
  private readonly unregisterMetrics: Array<() => void> = [];
  /**
   * Taken when the consumer is created, not when the module is loaded: the metrics API has no
   * proxy, so a host that sets up its metrics SDK after importing this library still gets them.
   */
  private readonly meter = metrics.getMeter('rescind-revocation-consumer');
  private readonly latency = this.meter.createHistogram('rescind.consumer.propagation_latency', {
    description: "Time from the writer's commit to the consumer's apply",
    unit: 'ms',
  });
  /** The unique consumer group of this instance. */
  readonly groupId: string;

  constructor(private readonly options: RevocationConsumerOptions) {
    super();
    this.topic = options.topic ?? Topics.invalidations;
    this.logger = options.logger ?? silent;
    this.policy = options.stalenessPolicy ?? 'fail-closed';
    this.freshness = new Freshness(options.maxStalenessMs ?? 5000);
    this.groupId = `${options.groupIdPrefix ?? 'rescind-consumer'}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
    this.kafka = new Kafka({
      logLevel: logLevel.NOTHING,
      ...options.kafka,
      clientId: options.clientId ?? 'rescind-consumer',
      brokers: options.brokers,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000, ...options.kafka?.retry },
    });
    this.registerMetrics();
  }

  /**
   * Pins the topic's current end offsets, loads the snapshot (if configured), then follows the
   * topic from the pinned offsets, so nothing committed in between is missed (overlap is
   * harmless: apply keeps the highest `seq`). While the broker or the writer's snapshot is
   * unreachable it keeps trying with back-off (not ready meanwhile: the staleness policy
   * answers), unless a saved list (`persistPath`) can stand in for the snapshot. Resolves once
   * consuming has started; rejects only if `stop()` is called first. Use
   * {@link RevocationConsumer.ready} to wait until it caught up.
   *
   * @example
   * await consumer.start();
   */
  async start(): Promise<void> {
    if (this.stopped) {
      throw new Error('a stopped revocation consumer cannot be started again: create a new one');
    }
    if (this.consumer) {
      return;
    }
    const starting = new AbortController();
    this.starting = starting;
    // The saved list, if any, is kept aside: a snapshot, when it loads, replaces it entirely. It
    // holds every rule live now, while the saved list may still hold a rule reinstated since,
    // whose removal lies before the offsets pinned for the snapshot and would never be read.
    const saved = await this.loadPersisted();
    if (saved) {
      // Served (keep-last, fail-open) while the broker or the snapshot is unreachable: the last
      // known list, and revoked tokens in it stay denied under every policy.
      this.list = saved.list;
      this.loaded = true;
    }
    const { ends, snapshot } = await this.bootstrap(saved !== undefined, starting.signal);
    const snapshotLoaded = snapshot !== undefined;
    const resumeFrom = snapshotLoaded ? undefined : saved?.offsets;
    if (snapshot) {
      this.list = snapshot;
      this.loaded = true;
    }
    // Where each partition is read from, and up to where it must be read before `ready`: after a
    // snapshot, from the ends pinned before it; else from the saved offsets; else from the
    // beginning of the (compacted) topic.
    for (const [partition, { low, high }] of ends) {
      const wanted = snapshotLoaded ? high : (resumeFrom?.get(partition) ?? low);
      if (resumeFrom?.has(partition) && wanted < low) {
        this.logger.warn(
          `partition ${partition}: events from offset ${wanted} to ${low} are gone (retention); ` +
            'the saved list may miss them: configure `snapshot` to bootstrap from the writer',
        );
      }
      const from = wanted > low ? wanted : low;
      this.pinned.set(partition, { from, catchUpTo: high > from ? high - 1n : null });
    }
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 1000,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
      retry: {
        retries: Number.MAX_SAFE_INTEGER,
        initialRetryTime: 200,
        maxRetryTime: 5000,
        // kafkajs disconnects on a crash and then schedules a restart; a stop() that lands while
        // it is disconnecting would otherwise be outrun by that restart, and the stopped consumer
        // would go on reconnecting for ever (and keep its process alive).
        restartOnFailure: () => Promise.resolve(!this.stopped),
      },
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.lastError = payload.error.message;
      this.logger.warn(
        `revocation consumer crashed (restart: ${payload.restart}): ${payload.error.message}`,
      );
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // Where to read from is this instance's to say (its group commits nothing), on every join:
      // the first, from the pinned offsets, and the one after kafkajs restarts a crashed consumer
      // (a new group session, which would otherwise read the topic again from its beginning),
      // from just after what was consumed. Never right after run(): a first join that fails (the
      // group coordinator still loading, as right after a broker starts) makes kafkajs restart
      // the consumer, and a seek in between throws "consumer#run must be called first".
      for (const [partition, { from }] of this.pinned) {
        const consumed = this.consumedOffsets.get(partition);
        const next = consumed === undefined ? from : consumed + 1n;
        consumer.seek({ topic: this.topic, partition, offset: next.toString() });
      }
      this.joined = true;
      this.checkCaughtUp();
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    // Offsets are never committed: the group is unique to this instance and never resumed.
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.applyBatch(payload) });
    this.timers = [
      setInterval(() => this.list.pruneExpired(Date.now()), this.options.pruneIntervalMs ?? 60_000),
      setInterval(
        () => this.updateStaleness(),
        Math.min(250, (this.options.maxStalenessMs ?? 5000) / 4),
      ),
    ];
    if (this.options.persistPath) {
      this.timers.push(
        setInterval(() => {
          if (!this.saving) {
            void this.persist();
          }
        }, this.options.persistIntervalMs ?? 30_000),
      );
    }
    this.timers.forEach((t) => t.unref());
    this.checkCaughtUp();
  }

  /**
   * Resolves once the snapshot is loaded, the consumer joined its group and applied every event
   * that was on the topic when `start()` was called. Health endpoints of the host can use it.
   *
   * @example
   * await consumer.ready(); // now safe to serve traffic
   */
  ready(): Promise<void> {
    if (this.caughtUp) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Resolves once the list is fresh: ready, and heartbeats on every partition prove that every
   * revocation acknowledged longer ago than `maxStalenessMs` is applied. `ready()` does not wait
   * for that (a `keep-last` host serves while the writer is down); a `fail-closed` host that
   * should not take traffic it would answer with 503 can wait for this instead.
   *
   * @example
   * await consumer.ready();
   * await consumer.fresh(); // a heartbeat has proved the list current
   */
  fresh(): Promise<void> {
    if (!this.stale) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.freshWaiters.push({ resolve, reject }));
  }

  /**
   * Should a request with a token carrying these claims be let through? Local, synchronous, a
   * handful of hash lookups. Pass the verified JWT payload, plus `kid` from the JWT header when
   * key rules are used. A revoked token is denied whatever the staleness policy.
   *
   * @example
   * const decision = consumer.check({ sub: 'alice', iss: 'https://idp.example', iat: 1700000000 });
   * if (decision.reason === 'revoked') console.log('revoked by', decision.rule.key);
   */
  check(claims: TokenClaims): CheckDecision {
    const found = this.list.check(claims);
    if (found.revoked) {
      this.decisions.revoked += 1;
      return { allowed: false, revoked: true, reason: 'revoked', rule: found.rule };
    }
    if (!this.stale) {
      this.decisions.allowed += 1;
      return ALLOWED;
    }
    const decision = this.staleDecision();
    this.decisions[decision.reason] += 1;
    return decision;
  }

  /** What the policy answers for a token the list does not revoke, while the list is stale. */
  private staleDecision(): CheckDecision {
    switch (this.policy) {
      case 'fail-closed':
        return this.caughtUp ? STALE_DENIED : NOT_READY;
      case 'fail-open':
        return STALE_ALLOWED;
      case 'keep-last':
        return this.loaded ? STALE_ALLOWED : NOT_READY;
    }
  }

  /**
   * What the consumer knows and how it is doing.
   *
   * @example
   * app.get('/health/revocations', () => consumer.status());
   */
  status(): ConsumerStatus {
    return {
      ready: this.caughtUp,
      stale: this.stale,
      policy: this.policy,
      stalenessMs: this.freshness.stalenessMs(),
      rules: this.list.size,
      lastSeq: this.list.lastSeq,
      writerSeq: this.freshness.latestAnnouncedSeq,
      writerClockAheadMs: this.freshness.writerClockAheadMs,
      lastAppliedAt: this.lastAppliedAt,
      partitions: this.freshness.partitions().map((p) => ({ ...p, lag: this.lag(p.partition) })),
      tombstones: { ...this.tombstones },
      decisions: { ...this.decisions },
      invalidMessages: this.invalidMessages,
      unreadableRules: this.unreadable.status(),
      lastError: this.lastError,
      persistence: this.options.persistPath
        ? {
            path: this.options.persistPath,
            lastSavedAt: this.lastSave.at,
            lastSavedRules: this.lastSave.rules,
            lastError: this.lastSave.error,
          }
        : null,
    };
  }

  /**
   * Leaves the group and disconnects, after saving the list (with `persistPath`). The deny-list
   * stays readable; the consumer cannot be started again.
   *
   * @example
   * process.on('SIGTERM', () => void consumer.stop());
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.starting?.abort();
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.unregisterMetrics.splice(0).forEach((unregister) => unregister());
    const consumer = this.consumer;
    this.consumer = null;
    for (const waiter of this.readyWaiters.splice(0)) {
      waiter.reject(new Error('revocation consumer stopped before it was ready'));
    }
    for (const waiter of this.freshWaiters.splice(0)) {
      waiter.reject(new Error('revocation consumer stopped before it was fresh'));
    }
    await consumer?.disconnect();
    if (consumer && this.caughtUp) {
      await this.persist();
    }
  }

  /**
   * Saves the list and where to resume, after any save in progress; failures are logged, the
   * list stays in memory. The file is streamed while events keep being applied: the offsets are
   * taken first, so a restart replays whatever changed during the save.
   */
  private async persist(): Promise<void> {
    const path = this.options.persistPath;
    while (this.saving) {
      await this.saving;
    }
    if (!path || !this.caughtUp) {
      return;
    }
    const offsets = new Map<number, bigint>();
    for (const [partition, { from }] of this.pinned) {
      const consumed = this.consumedOffsets.get(partition);
      offsets.set(partition, consumed === undefined ? from : consumed + 1n);
    }
    const save = saveList(path, this.topic, this.list.versions(), offsets).then(
      (rules) => {
        this.lastSave = { at: Date.now(), rules, error: null };
      },
      (error: unknown) => {
        this.lastSave = { ...this.lastSave, error: String(error) };
        this.logger.warn(`could not save the deny-list to ${path}: ${String(error)}`);
      },
    );
    this.saving = save.finally(() => {
      this.saving = null;
    });
    await this.saving;
  }

  /**
   * Reads the saved list into a list of its own, kept only if the whole file passes its checks;
   * returns it with where to resume reading, or undefined.
   */
  private async loadPersisted(): Promise<
    { list: DenyList; offsets: Map<number, bigint> } | undefined
  > {
    if (!this.options.persistPath) {
      return undefined;
    }
    const list = new DenyList();
    try {
      const saved = await loadList(this.options.persistPath, this.topic, (event) =>
        list.apply(event),
      );
      if (!saved) {
        return undefined;
      }
      this.logger.info(`loaded ${saved.rules} rules from ${this.options.persistPath}`);
      return { list, offsets: saved.offsets };
    } catch (error) {
      this.logger.warn(`ignoring ${this.options.persistPath}: ${String(error)}`);
      return undefined;
    }
  }

  /**
   * Pins the topic's end offsets, then loads the snapshot (if configured) into a list of its
   * own, so that a snapshot cut short leaves nothing behind. Until both succeed it retries with
   * back-off (the consumer is not ready meanwhile, and the staleness policy answers), unless a
   * saved list can stand in for an unavailable snapshot, or `stop()` is called.
   */
  private async bootstrap(
    haveSaved: boolean,
    stopped: AbortSignal,
  ): Promise<{ ends: Map<number, { low: bigint; high: bigint }>; snapshot?: DenyList }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const ends = await this.topicEnds();
        if (!this.options.snapshot) {
          return { ends };
        }
        try {
          return { ends, snapshot: await this.loadSnapshotList(this.options.snapshot) };
        } catch (error) {
          if (!haveSaved) {
            throw error;
          }
          this.logger.warn(`snapshot unavailable (${String(error)}); resuming from the saved list`);
          return { ends };
        }
      } catch (error) {
        this.lastError = String(error);
        const delayMs = Math.min(BOOTSTRAP_MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 6));
        this.logger.warn(
          `cannot bootstrap the deny-list (attempt ${attempt}, next in ${delayMs} ms): ${String(error)}`,
        );
        await sleep(delayMs, undefined, { signal: stopped }).catch(() => undefined);
        if (stopped.aborted) {
          throw new Error('revocation consumer stopped before it was ready');
        }
      }
    }
  }

  /**
   * Loads the snapshot into a list of its own. A rule line it cannot read is skipped and, once
   * the snapshot is accepted, counted; when the list held so far (the saved one) has a live
   * version of that key, the version is carried over: the snapshot replaces that list, and a
   * revocation is never dropped because its update was unreadable.
   */
  private async loadSnapshotList(source: SnapshotSource): Promise<DenyList> {
    const list = new DenyList();
    const held = this.list;
    const skipped: {
      last: (UnreadableLine & { at: number; location: string; keptSeq: number | null }) | null;
    } = { last: null };
    let warned = 0;
    const skip = (line: UnreadableLine & { line: number }): void => {
      const now = Date.now();
      const kept = heldRevocation(held, line.key, now);
      if (kept) {
        list.apply(keptEvent(kept, now));
      }
      const location = `snapshot line ${line.line}`;
      skipped.last = { ...line, at: now, location, keptSeq: kept?.seq ?? null };
      if (warned < SNAPSHOT_WARNINGS) {
        warned += 1;
        this.logger.warn(
          `skipped unreadable rule at ${location} (${identify(line)}): ${line.reason}; ${keptNote(line, kept)}`,
        );
      }
    };
    // Bulk state, not propagation: no latency samples and no 'rule' event per snapshot line.
    const { header, rules, unreadable } = await loadSnapshot(
      source,
      (event) => list.apply(event),
      skip,
    );
    if (skipped.last !== null) {
      this.unreadable.record('snapshot', unreadable, skipped.last);
      this.logger.warn(
        `skipped ${unreadable} unreadable rule line(s) of the snapshot` +
          (unreadable > warned ? ` (${unreadable - warned} not logged one by one)` : '') +
          ': the rules they carry are not enforced here unless an older version was kept; ' +
          'see status().unreadableRules',
      );
    }
    this.logger.info(`loaded ${rules} rules from the snapshot (watermark seq ${header.watermark})`);
    return list;
  }

  /** The first and the next offset of every partition, right now. */
  private async topicEnds(): Promise<Map<number, { low: bigint; high: bigint }>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return new Map(
        offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]),
      );
    } finally {
      await admin.disconnect();
    }
  }

  private async applyBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const message of batch.messages) {
      if (!payload.isRunning()) {
        break;
      }
      this.applyMessage(
        batch.partition,
        message.offset,
        message.key,
        message.value,
        message.headers,
      );
      payload.resolveOffset(message.offset);
    }
    this.highWatermarks.set(batch.partition, BigInt(batch.highWatermark));
    if (batch.messages.length > 0) {
      this.consumedOffsets.set(batch.partition, BigInt(batch.lastOffset()));
    }
    const pin = this.pinned.get(batch.partition);
    if (
      pin !== undefined &&
      pin.catchUpTo !== null &&
      BigInt(batch.lastOffset()) >= pin.catchUpTo
    ) {
      pin.catchUpTo = null;
      this.checkCaughtUp();
    }
    await payload.heartbeat();
  }

  private applyMessage(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Record<string, unknown> | undefined,
  ): void {
    if (value === null) {
      return this.applyTombstone(partition, offset, key);
    }
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch {
      // Not the parser's message: it quotes the value.
      return this.skip(partition, offset, unreadableLine(value, undefined, 'not JSON', key));
    }
    const parsed = InvalidationMessageV1Schema.safeParse(json);
    if (!parsed.success) {
      return this.skip(
        partition,
        offset,
        unreadableLine(value, json, issueReason(parsed.error), key),
      );
    }
    const message = parsed.data;
    if (message.type === 'heartbeat') {
      return this.applyHeartbeat(partition, message);
    }
    const carrier: Record<string, string> = {};
    for (const [name, header] of Object.entries(headers ?? {})) {
      if (Buffer.isBuffer(header) || typeof header === 'string') {
        carrier[name] = header.toString();
      }
    }
    const parent = propagation.extract(context.active(), carrier);
    const span = tracer.startSpan(
      'rescind.consumer.apply',
      { attributes: { 'rescind.seq': message.seq } },
      parent,
    );
    const applied = this.list.apply(message);
    span.setAttribute('rescind.applied', applied !== undefined);
    span.end();
    if (applied) {
      const now = Date.now();
      this.lastAppliedAt = now;
      const latencyMs = now - message.committedAt;
      this.latency.record(latencyMs);
      this.emit('rule', { rule: applied, latencyMs });
    }
  }

  private applyHeartbeat(partition: number, heartbeat: HeartbeatV1): void {
    this.freshness.heartbeat(partition, heartbeat);
    const ahead = heartbeat.at - Date.now();
    if (ahead > 1000 && !this.skewWarned) {
      this.skewWarned = true;
      this.logger.warn(
        `the writer's clock is at least ${ahead} ms ahead of this host's: heartbeats look that much ` +
          'younger than they are; synchronise the clocks (NTP)',
      );
    }
    this.updateStaleness();
  }

  /**
   * A tombstone: the writer pruned the rule of this key (it expired). It carries no `seq`, so it
   * removes the version held only if that has expired by this host's clock too (see
   * `tombstoneOutcome`); otherwise it is ignored and counted.
   */
  private applyTombstone(partition: number, offset: string, key: Buffer | null): void {
    const identity = key === null ? undefined : identityOfKey(key.toString('utf8'));
    if (identity === undefined) {
      return this.skip(
        partition,
        offset,
        // No value to fingerprint: the key's bytes are what tells one such tombstone from another.
        unreadableLine(key ?? Buffer.alloc(0), undefined, 'tombstone without a rule key', key),
      );
    }
    const now = Date.now();
    const outcome = tombstoneOutcome(
      this.list.get(identity.claim, identity.value, identity.iss),
      now,
    );
    switch (outcome) {
      case 'removed':
        // Drops exactly the versions expired by now, this one among them.
        this.list.pruneExpired(now);
        this.tombstones.removed += 1;
        return;
      case 'ignored':
        this.tombstones.ignored += 1;
        this.logger.warn(
          `ignored the tombstone ${this.topic}/${partition}@${offset}: the version held has not expired by this host's clock`,
        );
        return;
      case 'absent':
        return;
    }
  }

  /**
   * A message that cannot be read: skipped, counted, and an older readable version of its key
   * kept (it simply stays in the list: a revocation is never dropped because its update was
   * unreadable).
   */
  private skip(partition: number, offset: string, line: UnreadableLine): void {
    this.invalidMessages += 1;
    const now = Date.now();
    const location = `${this.topic}/${partition}@${offset}`;
    const kept = heldRevocation(this.list, line.key, now);
    this.unreadable.record('stream', 1, { ...line, at: now, location, keptSeq: kept?.seq ?? null });
    this.logger.warn(
      `skipped unreadable message ${location} (${identify(line)}): ${line.reason}; ${keptNote(line, kept)}`,
    );
    this.emit('invalid', { partition, offset, reason: line.reason });
  }

  private lag(partition: number): number | null {
    const high = this.highWatermarks.get(partition);
    if (high === undefined) {
      return null;
    }
    const consumed =
      this.consumedOffsets.get(partition) ?? (this.pinned.get(partition)?.from ?? 0n) - 1n;
    return Number(high - 1n - consumed);
  }

  private checkCaughtUp(): void {
    if (
      this.caughtUp ||
      !this.joined ||
      [...this.pinned.values()].some((p) => p.catchUpTo !== null)
    ) {
      return;
    }
    this.caughtUp = true;
    this.loaded = true;
    this.freshness.markReady([...this.pinned.keys()]);
    this.updateStaleness();
    for (const waiter of this.readyWaiters.splice(0)) {
      waiter.resolve();
    }
    this.emit('ready');
  }

  private updateStaleness(): void {
    const stale = !this.caughtUp || this.freshness.isStale();
    if (stale === this.stale) {
      return;
    }
    this.stale = stale;
    if (stale) {
      const stalenessMs = this.freshness.stalenessMs();
      const ages = this.freshness.partitions().map((p) => p.heartbeatAgeMs);
      const heartbeatAgeMs = ages.includes(null) ? null : Math.max(0, ...(ages as number[]));
      this.logger.warn(
        `revocation list is stale (${stalenessMs === null ? 'no heartbeat yet on some partition' : `acknowledged revocations up to ${stalenessMs} ms old may be missing`}); policy ${this.policy}`,
      );
      this.emit('stale', { heartbeatAgeMs, stalenessMs });
    } else {
      this.logger.info('revocation list is fresh');
      for (const waiter of this.freshWaiters.splice(0)) {
        waiter.resolve();
      }
      this.emit('fresh');
    }
  }

  /** Observable instruments read the counters only when a metrics SDK collects. */
  private registerMetrics(): void {
    const observe = (instrument: Observable, callback: ObservableCallback): void => {
      instrument.addCallback(callback);
      this.unregisterMetrics.push(() => instrument.removeCallback(callback));
    };
    observe(
      this.meter.createObservableGauge('rescind.consumer.rules', {
        description: 'Rules that currently revoke',
      }),
      (r) => r.observe(this.list.size),
    );
    observe(
      this.meter.createObservableGauge('rescind.consumer.heartbeat_age', {
        description: 'Age of the last heartbeat per partition',
        unit: 'ms',
      }),
      (r) => {
        for (const p of this.freshness.partitions()) {
          if (p.heartbeatAgeMs !== null) {
            r.observe(p.heartbeatAgeMs, { partition: p.partition });
          }
        }
      },
    );
    observe(
      this.meter.createObservableGauge('rescind.consumer.staleness', {
        description:
          'At most how long ago a revocation was acknowledged that the list may still miss (absent: no proof yet)',
        unit: 'ms',
      }),
      (r) => {
        const staleness = this.freshness.stalenessMs();
        if (staleness !== null) {
          r.observe(staleness);
        }
      },
    );
    observe(
      this.meter.createObservableGauge('rescind.consumer.lag', {
        description: 'Messages not yet consumed',
      }),
      (r) => {
        for (const partition of this.highWatermarks.keys()) {
          r.observe(this.lag(partition) ?? 0, { partition });
        }
      },
    );
    observe(
      this.meter.createObservableCounter(UNREADABLE_RULES_METRIC, {
        description:
          'Snapshot rule lines and topic messages that could not be read and were skipped, by source',
      }),
      (r) => {
        // Both sources from the start, at zero: an alert on the increase then sees the first one.
        for (const [source, count] of Object.entries(this.unreadable.bySource())) {
          r.observe(count, { source });
        }
      },
    );
    observe(
      this.meter.createObservableCounter('rescind.consumer.decisions', {
        description: 'check() decisions by outcome',
      }),
      (r) => {
        for (const [outcome, count] of Object.entries(this.decisions)) {
          r.observe(count, { outcome });
        }
      },
    );
  }
}

/** What a skipped line leaves enforced of its key, for the warning. */
function keptNote(line: UnreadableLine, kept: RuleVersion | undefined): string {
  if (kept) {
    return `kept the older version of its key (seq ${kept.seq})`;
  }
  return line.key === null ? 'its key cannot be read' : 'no older version of its key is held';
}

/**
 * Creates a consumer; call `start()` to connect.
 *
 * @example
 * import { createRevocationConsumer } from '@rescind/revocation-consumer';
 *
 * const revocations = createRevocationConsumer({ brokers: ['kafka:9092'] });
 * await revocations.start();
 * await revocations.ready();
 * const { allowed, reason } = revocations.check({ sub: 'alice', iat: 1700000000 });
 */
export function createRevocationConsumer(options: RevocationConsumerOptions): RevocationConsumer {
  return new RevocationConsumer(options);
}
