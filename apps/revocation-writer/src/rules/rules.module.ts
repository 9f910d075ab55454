import { Module } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { OutboxModule } from '../outbox/outbox.module';
import { RuleJournal } from './rule-journal';
import { RulePolicy } from './rule-policy';
import { RulePruner } from './rule-pruner';
import { RulesRepository } from './rules.repository';

@Module({
  imports: [OutboxModule],
  providers: [
    RulesRepository,
    AuditRepository,
    RuleJournal,
    RulePruner,
    {
      provide: RulePolicy,
      inject: [WRITER_CONFIG],
      useFactory: (c: WriterConfig) => new RulePolicy(c),
    },
  ],
  exports: [RulesRepository, AuditRepository, RuleJournal, RulePolicy],
})
export class RulesModule {}
