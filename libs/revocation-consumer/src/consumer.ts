import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { DenyList, type TokenClaims } from '@rescind/rules';
import type { Kafka } from 'kafkajs';
import { bootstrap, type BootstrapSources } from './bootstrap';
import { type CheckDecision, DecisionCounts, decide } from './decision';
import { RevocationConsumerError } from './errors';
import type { ConsumerEvents } from './events';
import { Freshness, type StalenessPolicy } from './freshness';
import { ListSaver, type SaveContent } from './list-saver';
import { MessageApplier } from './message-applier';
import type { BinarySnapshotMeta } from './snapshot';
import { ConsumerMetrics } from './metrics';
import { type ConsumerSettings, consumerSettings, type RevocationConsumerOptions } from './options';
import type { ConsumerStatus } from './status';
import { createKafka, fetchTopicEnds, TopicStream } from './topic-stream';
import { UnreadableRules } from './unreadable-rules';
import { Waiters } from './waiters';

/**
 * Keeps a local deny-list current from the invalidation topic and answers `check(claims)` in
 * memory, with no network call on the request path. Create it with
 * {@link createRevocationConsumer}.
 *
 * The parts, each in its own file: `bootstrap` (saved list, snapshot, back-off),
 * `startPositions` (where each partition is read from), `TopicStream` (the kafkajs consumer),
 * `MessageApplier` (what a message does to the list), `decide` (the answer of `check`),
 * `ListSaver` (the on-disk copy) and `ConsumerMetrics`. This class holds the state they share
 * and the transitions: ready, stale, fresh, stopped.
 *
 * @example
 * const consumer = createRevocationConsumer({ brokers: ['kafka:9092'] });
 * await consumer.start();
 * await consumer.ready();
 * if (!consumer.check(jwtPayload).allowed) reply.code(401);
 */
export class RevocationConsumer extends EventEmitter<ConsumerEvents> {
  /** The unique consumer group of this instance. */
  readonly groupId: string;
  /** Replaced at most twice, at start-up: by the saved list, then by a snapshot. */
  private list = new DenyList();
  /**
   * Read by `check`: updated on a timer and on transitions, so checks never read the clock.
   * `ready`: caught up with the topic; `loaded`: a list was loaded at some point (snapshot,
   * saved list, or caught up with the topic).
   */
  private readonly state = { ready: false, stale: true, loaded: false };
  /** `stop()` was called: the consumer is done for good (its metrics are unregistered). */
  private stopped = false;
  /** Aborted by `stop()`: ends a bootstrap that is waiting for the broker or the writer. */
  private starting: AbortController | null = null;
  /** Once consuming started; kept after `stop()` for the lag in `status()`. */
  private stream: TopicStream | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly readyWaiters = new Waiters();
  private readonly freshWaiters = new Waiters();
  private lastError: string | null = null;
  private readonly decisions = new DecisionCounts();
  private readonly settings: ConsumerSettings;
  private readonly policy: StalenessPolicy;
  private readonly kafka: Kafka;
  private readonly freshness: Freshness;
  private readonly unreadable = new UnreadableRules();
  private readonly metrics: ConsumerMetrics;
  private readonly applier: MessageApplier;
  /** The on-disk copy, with `persistPath`. */
  private readonly saver: ListSaver | null;

  constructor(options: RevocationConsumerOptions) {
    super();
    const settings = consumerSettings(options);
    this.settings = settings;
    this.policy = settings.stalenessPolicy;
    this.freshness = new Freshness(settings.maxStalenessMs);
    this.groupId = `${settings.groupIdPrefix}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
    this.kafka = createKafka(settings);
    this.metrics = new ConsumerMetrics(
      {
        rules: () => this.list.size,
        partitions: () => this.freshness.partitions(),
        stalenessMs: () => this.freshness.stalenessMs(),
        lags: () => this.stream?.lags() ?? [],
        unreadableBySource: () => this.unreadable.bySource(),
        decisions: () => this.decisions.byReason(),
      },
      settings.meterProvider,
    );
    this.applier = new MessageApplier(
      () => this.list,
      settings.topic,
      this.freshness,
      this.unreadable,
      this.metrics.latency,
      settings.logger,
      {
        rule: (event) => this.emit('rule', event),
        invalid: (event) => this.emit('invalid', event),
        heartbeat: () => this.updateStaleness(),
      },
    );
    this.saver = settings.persistPath
      ? new ListSaver(settings.persistPath, settings.topic, settings.logger)
      : null;
  }

  /**
   * Pins the topic's current end offsets, loads the snapshot (if configured), then follows the
   * topic from the pinned offsets, so nothing committed in between is missed (overlap is
   * harmless: apply keeps the highest `seq`). While the broker or the writer's snapshot is
   * unreachable it keeps trying with back-off (not ready meanwhile: the staleness policy
   * answers), unless a saved list (`persistPath`) can stand in for the snapshot. Resolves once
   * consuming has started; rejects only if `stop()` is called first (`consumer_stopped`), or
   * if the consumer was stopped before (`consumer_not_restartable`). Use
   * {@link RevocationConsumer.ready} to wait until it caught up.
   *
   * @example
   * await consumer.start();
   */
  async start(): Promise<void> {
    if (this.stopped) {
      throw new RevocationConsumerError(
        'consumer_not_restartable',
        'a stopped revocation consumer cannot be started again: create a new one',
      );
    }
    if (this.stream) {
      return;
    }
    const starting = new AbortController();
    this.starting = starting;
    const { topic, logger } = this.settings;
    const partitions = await bootstrap(this.bootstrapSources(), starting.signal);
    if (this.stopped) {
      // stop() came while the bootstrap ran: nothing may start consuming after it.
      throw stoppedBefore('started');
    }
    const stream = new TopicStream(
      this.kafka,
      topic,
      this.groupId,
      this.settings,
      partitions,
      {
        message: (...message) => this.applier.apply(...message),
        progress: () => this.checkCaughtUp(),
        crashed: (error, restart) => {
          this.lastError = error.message;
          logger.warn(`revocation consumer crashed (restart: ${restart}): ${error.message}`);
        },
      },
      () => this.stopped,
    );
    this.stream = stream;
    await stream.start();
    if (this.stopped) {
      // stop() came while the stream was joining its group: leave again, whatever stop() saw.
      await stream.stop();
      throw stoppedBefore('started');
    }
    this.timers = [
      setInterval(() => this.list.pruneExpired(Date.now()), this.settings.pruneIntervalMs),
      setInterval(() => this.updateStaleness(), Math.min(250, this.settings.maxStalenessMs / 4)),
    ];
    this.timers.forEach((t) => t.unref());
    this.saver?.start(this.settings.persistIntervalMs, () => this.saveContent(stream));
    this.checkCaughtUp();
  }

  /**
   * Resolves once the snapshot is loaded, the consumer joined its group and applied every event
   * that was on the topic when `start()` was called. Health endpoints of the host can use it.
   * Rejects with `consumer_stopped` if `stop()` is called first.
   *
   * @example
   * await consumer.ready(); // now safe to serve traffic
   */
  ready(): Promise<void> {
    if (this.state.ready) {
      return Promise.resolve();
    }
    return this.readyWaiters.wait();
  }

  /**
   * Resolves once the list is fresh: ready, and heartbeats on every partition prove that every
   * revocation acknowledged longer ago than `maxStalenessMs` is applied. `ready()` does not wait
   * for that (a `keep-last` host serves while the writer is down); a `fail-closed` host that
   * should not take traffic it would answer with 503 can wait for this instead. Rejects with
   * `consumer_stopped` if `stop()` is called first.
   *
   * @example
   * await consumer.ready();
   * await consumer.fresh(); // a heartbeat has proved the list current
   */
  fresh(): Promise<void> {
    if (!this.state.stale) {
      return Promise.resolve();
    }
    return this.freshWaiters.wait();
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
    const decision = decide(this.list, claims, this.state, this.policy);
    this.decisions.count(decision);
    return decision;
  }

  /**
   * What the consumer knows and how it is doing.
   *
   * @example
   * app.get('/health/revocations', () => consumer.status());
   */
  status(): ConsumerStatus {
    const stream = this.stream;
    return {
      ready: this.state.ready,
      stale: this.state.stale,
      policy: this.settings.stalenessPolicy,
      stalenessMs: this.freshness.stalenessMs(),
      rules: this.list.size,
      lastSeq: this.list.lastSeq,
      writerSeq: this.freshness.latestAnnouncedSeq,
      writerClockAheadMs: this.freshness.writerClockAheadMs,
      lastAppliedAt: this.applier.lastAppliedAt,
      partitions: this.freshness
        .partitions()
        .map((p) => ({ ...p, lag: stream?.lag(p.partition) ?? null })),
      tombstones: { ...this.applier.tombstones },
      decisions: { ...this.decisions.byReason() },
      invalidMessages: this.applier.invalidMessages,
      unreadableRules: this.unreadable.status(),
      lastError: this.lastError,
      persistence: this.saver?.status() ?? null,
    };
  }

  /**
   * `status()`'s `ready`, `stale` and `lastSeq` alone, cheap enough to ask on every request (a
   * writer asks it before it answers introspection from its mirror).
   */
  brief(): { ready: boolean; stale: boolean; lastSeq: number } {
    return { ready: this.state.ready, stale: this.state.stale, lastSeq: this.list.lastSeq };
  }

  /**
   * The deny-list as a binary snapshot (`DenyList.toSnapshot`), with the topic offsets it stands
   * at in its metadata ({@link BinarySnapshotMeta}), or undefined until the consumer is ready.
   * Taken in one turn of the event loop, so the list and the offsets agree: an enforcement point
   * that loads it reads on from those offsets. What the writer serves to enforcement points that
   * start cold; encoding a million rules takes about half a second, during which nothing else
   * runs, so cache the bytes.
   *
   * @example
   * const bytes = mirror.snapshotBytes();
   */
  snapshotBytes(): Buffer | undefined {
    const stream = this.stream;
    if (!this.state.ready || stream === null) {
      return undefined;
    }
    const meta: BinarySnapshotMeta = {
      format: 'rescind-deny-list-snapshot',
      topic: this.settings.topic,
      offsets: Object.fromEntries(
        [...stream.resumeOffsets()].map(([partition, offset]) => [
          String(partition),
          String(offset),
        ]),
      ),
      createdAt: Date.now(),
    };
    return this.list.toSnapshot(meta);
  }

  /**
   * Leaves the group and disconnects, after saving the list (with `persistPath`). The deny-list
   * stays readable; the consumer cannot be started again. What was waiting for `start()`,
   * `ready()` or `fresh()` is rejected with `consumer_stopped`.
   *
   * @example
   * process.on('SIGTERM', () => void consumer.stop());
   */
  async stop(): Promise<void> {
    // A second stop() has nothing left to disconnect or save.
    const stream = this.stopped ? null : this.stream;
    this.stopped = true;
    this.starting?.abort();
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.saver?.stop();
    this.metrics.unregister();
    this.readyWaiters.rejectAll(() => stoppedBefore('ready'));
    this.freshWaiters.rejectAll(() => stoppedBefore('fresh'));
    await stream?.stop();
    if (stream && this.state.ready) {
      await this.saver?.save(() => this.saveContent(stream));
    }
  }

  private bootstrapSources(): BootstrapSources {
    return {
      topic: this.settings.topic,
      topicEnds: () => fetchTopicEnds(this.kafka, this.settings.topic),
      snapshot: this.settings.snapshot,
      persistPath: this.settings.persistPath,
      logger: this.settings.logger,
      unreadable: this.unreadable,
      failed: (error) => {
        this.lastError = String(error);
      },
      serve: (list) => {
        this.list = list;
        this.state.loaded = true;
      },
    };
  }

  /** What a save writes, once caught up: where to resume (taken first), then the versions. */
  private saveContent(stream: TopicStream): SaveContent | undefined {
    if (!this.state.ready) {
      return undefined;
    }
    const offsets = stream.resumeOffsets();
    return { offsets, versions: this.list.versions() };
  }

  private checkCaughtUp(): void {
    const stream = this.stream;
    if (this.state.ready || !stream?.caughtUp) {
      return;
    }
    this.state.ready = true;
    this.state.loaded = true;
    this.freshness.markReady(stream.partitions());
    this.updateStaleness();
    this.readyWaiters.resolveAll();
    this.emit('ready');
  }

  private updateStaleness(): void {
    const stale = !this.state.ready || this.freshness.isStale();
    if (stale === this.state.stale) {
      return;
    }
    this.state.stale = stale;
    if (stale) {
      const stalenessMs = this.freshness.stalenessMs();
      const ages = this.freshness.partitions().map((p) => p.heartbeatAgeMs);
      const heartbeatAgeMs = ages.includes(null) ? null : Math.max(0, ...(ages as number[]));
      this.settings.logger.warn(
        `revocation list is stale (${stalenessMs === null ? 'no heartbeat yet on some partition' : `acknowledged revocations up to ${stalenessMs} ms old may be missing`}); policy ${this.settings.stalenessPolicy}`,
      );
      this.emit('stale', { heartbeatAgeMs, stalenessMs });
    } else {
      this.settings.logger.info('revocation list is fresh');
      this.freshWaiters.resolveAll();
      this.emit('fresh');
    }
  }
}

function stoppedBefore(what: 'ready' | 'fresh' | 'started'): RevocationConsumerError {
  return new RevocationConsumerError(
    'consumer_stopped',
    `revocation consumer stopped before it was ${what}`,
  );
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
