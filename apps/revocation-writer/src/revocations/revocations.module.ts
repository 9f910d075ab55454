import { Module } from '@nestjs/common';
import { OpenApiController } from '../http/openapi.controller';
import { WritePathModule } from '../write-path/write-path.module';
import { DryRunRevocation } from './dry-run-revocation';
import { RevocationsController } from './revocations.controller';
import { RuleQueries } from './rule-queries.repository';

/** The operator API: create (with dry run), list, get and reinstate rules. */
@Module({
  imports: [WritePathModule],
  controllers: [RevocationsController, OpenApiController],
  providers: [DryRunRevocation, RuleQueries],
})
export class RevocationsModule {}
