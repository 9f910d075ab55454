import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InjectConfig, type WriterConfig } from '../config/config';
import { BatchedPurge } from '../database/batched-purge';
import { RuleJournal } from './rule-journal';
import { RulesRepository } from './rules.repository';

/** Rules expired per transaction: each one is a new version, an audit record and an outbox row. */
const BATCH = 500;

/**
 * Marks rules expired once every token they matched has expired, and publishes their removal,
 * so enforcement points (which also drop them locally) and the database stay small. Paced like
 * the retention purges (`BatchedPurge`): bounded batches, one run at a time, every
 * `PRUNE_INTERVAL_SECONDS`.
 */
@Injectable()
export class RulePruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly batches: BatchedPurge;

  constructor(
    private readonly dataSource: DataSource,
    private readonly rules: RulesRepository,
    private readonly journal: RuleJournal,
    @InjectConfig('rules') rulesConfig: WriterConfig['rules'],
  ) {
    this.batches = new BatchedPurge(
      'rule',
      (limit) => this.pruneBatch(limit),
      new Logger(RulePruner.name),
      {
        batchSize: BATCH,
        intervalMs: rulesConfig.pruneIntervalMs,
        verb: 'expired',
      },
    );
  }

  onApplicationBootstrap(): void {
    this.batches.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.batches.stop();
  }

  /** Expires everything that is due, in batches; returns how many rules were expired. */
  pruneAll(): Promise<number> {
    return this.batches.purgeAll();
  }

  private pruneBatch(limit: number): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const changes = await this.rules.expireDue(em, limit);
      for (const change of changes) {
        await this.journal.record(em, change, {
          actor: 'system:pruner',
          actorRole: null,
          action: 'rule.expired',
          source: 'system',
          sourceEventId: null,
          occurredAt: null,
          reason: change.after.reason,
          traceHeaders: {},
        });
      }
      return changes.length;
    });
  }
}
