import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { RulesModule } from '../rules/rules.module';
import { ReceiveSet } from './receive-set';
import { SsfController } from './ssf.controller';
import { SsfPoller } from './ssf-poller';

/**
 * OpenID Shared Signals (CAEP/RISC) receiver: SETs pushed to us (RFC 8935) and SETs we poll
 * for (RFC 8936) take the same path, ReceiveSet.
 */
@Module({
  imports: [IngestModule, RulesModule],
  controllers: [SsfController],
  providers: [ReceiveSet, SsfPoller],
})
export class SsfModule {}
