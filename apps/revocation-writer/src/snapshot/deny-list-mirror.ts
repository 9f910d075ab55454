import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { createRevocationConsumer, type RevocationConsumer } from '@rescind/revocation-consumer';
import { createNoopMeter } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectConfig, type WriterConfig } from '../config/config';
import { LocalCommits } from '../write-path/local-commits';

/** A binary snapshot the mirror encoded, shared by every request until it is refreshed. */
export interface MirrorSnapshot {
  bytes: Buffer;
  /** Strong validator: the SHA-256 trailer of the bytes (the format's own checksum). */
  etag: string;
  createdAt: number;
  lastSeq: number;
}

/**
 * The deny-list the writer keeps current like any enforcement point: the consumer library on
 * the invalidation topic, read from its beginning (the topic is compacted). It is the
 * materialisation the binary snapshot is served from: a fleet that restarts at once costs one
 * encoding per `snapshotMaxAgeMs` (the same bytes for every enforcement point, cacheable by a
 * CDN or copied to object storage), not one PostgreSQL scan per enforcement point. It starts in
 * the background: the writer serves (NDJSON snapshots from PostgreSQL meanwhile) without it.
 */
@Injectable()
export class DenyListMirror implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DenyListMirror.name);
  private readonly consumer: RevocationConsumer | null;
  private cached: MirrorSnapshot | undefined;
  private started: Promise<void> | undefined;

  constructor(
    @InjectConfig('kafka') kafka: WriterConfig['kafka'],
    @InjectConfig('snapshot') private readonly config: WriterConfig['snapshot'],
    localCommits: LocalCommits,
  ) {
    const logger = this.logger;
    this.consumer = config.mirrorEnabled
      ? createRevocationConsumer({
          brokers: kafka.brokers,
          topic: kafka.invalidationTopic,
          clientId: `${kafka.clientId}-mirror`,
          groupIdPrefix: `${kafka.clientId}-mirror`,
          kafka: kafka.security,
          // The writer's own view: never a reason to refuse anything, it only serves snapshots.
          stalenessPolicy: 'keep-last',
          // Not an enforcement point: its decisions and lag are not the fleet's.
          meterProvider: { getMeter: () => createNoopMeter() },
          logger: {
            info: (m) => logger.log(m),
            warn: (m) => logger.warn(m),
            error: (m) => logger.error(m),
          },
        })
      : null;
    this.consumer?.on('rule', ({ rule }) => localCommits.applied(rule.key, rule.seq));
  }

  onApplicationBootstrap(): void {
    // Resolves once consuming has started; retries meanwhile while Kafka is away.
    this.started = this.consumer?.start().catch((error: unknown) => {
      // Stopped with the writer before it was started: nothing to report.
      if ((error as { code?: unknown }).code !== 'consumer_stopped') {
        this.logger.warn(`deny-list mirror not started: ${String(error)}`);
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
    // A start() under way leaves its group too before the writer counts as closed; bounded, for
    // a start() still waiting on an unreachable broker (kafkajs' connection retries).
    await Promise.race([this.started, sleep(2000, undefined, { ref: false })]);
  }

  /** The mirror's consumer, once it caught up with the topic; else undefined. */
  get ready(): RevocationConsumer | undefined {
    return this.consumer?.status().ready === true ? this.consumer : undefined;
  }

  /**
   * The binary snapshot, encoded at most once per `snapshotMaxAgeMs` (every request meanwhile
   * gets the same bytes), or undefined while the mirror has not caught up.
   */
  snapshot(): MirrorSnapshot | undefined {
    const consumer = this.ready;
    if (consumer === undefined) {
      return undefined;
    }
    // A rule the mirror could not read (a newer writer's?) would be missing from its snapshot
    // without a trace: then enforcement points get NDJSON from PostgreSQL, which carries it.
    if (consumer.status().unreadableRules.count > 0) {
      return undefined;
    }
    const now = Date.now();
    if (this.cached !== undefined && now - this.cached.createdAt < this.config.maxAgeMs) {
      return this.cached;
    }
    const bytes = consumer.snapshotBytes();
    if (bytes === undefined) {
      return undefined;
    }
    this.cached = {
      bytes,
      etag: `"${bytes.subarray(bytes.length - 32).toString('hex')}"`,
      createdAt: now,
      lastSeq: consumer.status().lastSeq,
    };
    return this.cached;
  }
}
