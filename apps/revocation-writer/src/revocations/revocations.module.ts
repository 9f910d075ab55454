import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { RulesModule } from '../rules/rules.module';
import { AuditLogController } from './audit-log.controller';
import { AuditLogQueries } from './audit-log.repository';
import { DryRunRevocation } from './dry-run-revocation';
import { OpenApiController } from './openapi.controller';
import { ReinstateRule } from './reinstate-rule';
import { RevocationsController } from './revocations.controller';
import { RuleQueries } from './rule-queries.repository';

/** The operator API: create (with dry run), list, get and reinstate rules; read the audit log. */
@Module({
  imports: [IngestModule, RulesModule],
  controllers: [RevocationsController, AuditLogController, OpenApiController],
  providers: [DryRunRevocation, ReinstateRule, RuleQueries, AuditLogQueries],
})
export class RevocationsModule {}
