import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InjectConfig, type WriterConfig } from '../config/config';
import { RuleJournal } from './rule-journal';
import { RulesRepository } from './rules.repository';

const BATCH = 500;

/**
 * Marks rules expired once every token they matched has expired, and publishes their removal,
 * so enforcement points (which also drop them locally) and the database stay small.
 */
@Injectable()
export class RulePruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RulePruner.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly rules: RulesRepository,
    private readonly journal: RuleJournal,
    @InjectConfig('rules') private readonly rulesConfig: WriterConfig['rules'],
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) {
        return;
      }
      this.running = this.pruneAll()
        .then((n) => n > 0 && this.logger.log(`expired ${n} rule(s)`))
        .catch((error: unknown) => this.logger.warn(`pruning failed: ${String(error)}`))
        .finally(() => (this.running = null));
    }, this.rulesConfig.pruneIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
    }
    await this.running;
  }

  /** Expires everything that is due, in batches; returns how many rules were expired. */
  async pruneAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.pruneBatch();
      total += n;
      if (n < BATCH) {
        return total;
      }
    }
  }

  private pruneBatch(): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const changes = await this.rules.expireDue(em, BATCH);
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
