import { Module } from '@nestjs/common';
import { configSliceToken, type WriterConfig } from '../config/config';
import { OutboxModule } from '../outbox/outbox.module';
import { AuditRepository } from './audit.repository';
import { ProcessedEventsRepository } from './processed-events.repository';
import { LocalCommits } from './local-commits';
import { RecordRevocation } from './record-revocation';
import { ReinstateRule } from './reinstate-rule';
import { RuleJournal } from './rule-journal';
import { RulePolicy } from './rule-policy';
import { RulePruner } from './rule-pruner';
import { RulesRepository } from './rules.repository';
import { IdentityProviderClient } from '../upstream/identity-provider.client';
import { UpstreamCallsRepository } from '../upstream/upstream-calls.repository';
import { UpstreamWorker } from '../upstream/upstream-worker';

/**
 * The write path: every change of a rule, whatever transport asked for it. `RecordRevocation`
 * raises rules (webhooks, Kafka, SSF, RFC 7009, global revocation, operator API),
 * `ReinstateRule` lowers or removes one (operator API), `RulePruner` expires them,
 * `UpstreamWorker` makes the calls grant-wide revocations owe identity providers. Each change is
 * one transaction under the rule's row lock: the new version (new `seq`), its audit record and its
 * outbox message (`RuleJournal`). Transports hold no SQL of rules; they map their input to a
 * `RevocationCommand` and answer what the use case returns.
 */
@Module({
  imports: [OutboxModule],
  providers: [
    LocalCommits,
    RecordRevocation,
    ReinstateRule,
    RulesRepository,
    ProcessedEventsRepository,
    AuditRepository,
    RuleJournal,
    RulePruner,
    UpstreamCallsRepository,
    IdentityProviderClient,
    UpstreamWorker,
    {
      provide: RulePolicy,
      inject: [configSliceToken('rules'), configSliceToken('issuers')],
      useFactory: (rules: WriterConfig['rules'], issuers: WriterConfig['issuers']) =>
        new RulePolicy({ rules, issuers }),
    },
  ],
  exports: [
    LocalCommits,
    RecordRevocation,
    ReinstateRule,
    RulePolicy,
    ProcessedEventsRepository,
    IdentityProviderClient,
    AuditRepository,
  ],
})
export class WritePathModule {}
