import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { RulesModule } from '../rules/rules.module';
import { SsfController } from './ssf.controller';

/** OpenID Shared Signals (CAEP/RISC) receiver. */
@Module({
  imports: [IngestModule, RulesModule],
  controllers: [SsfController],
})
export class SsfModule {}
