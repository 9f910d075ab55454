import { Module } from '@nestjs/common';
import { WritePathModule } from '../write-path/write-path.module';
import { ReceiveSet } from './receive-set';
import { SsfController } from './ssf.controller';
import { SsfPoller } from './ssf-poller';

/**
 * OpenID Shared Signals (CAEP/RISC) receiver: SETs pushed to us (RFC 8935) and SETs we poll
 * for (RFC 8936) take the same path, ReceiveSet.
 */
@Module({
  imports: [WritePathModule],
  controllers: [SsfController],
  providers: [ReceiveSet, SsfPoller],
})
export class SsfModule {}
