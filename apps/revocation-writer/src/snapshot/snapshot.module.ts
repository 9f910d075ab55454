import { Module } from '@nestjs/common';
import { WritePathModule } from '../write-path/write-path.module';
import { DenyListMirror } from './deny-list-mirror';
import { SnapshotController } from './snapshot.controller';
import { SnapshotRepository } from './snapshot.repository';

/** `GET /v1/deny-list/snapshot`: the rules in force, for enforcement points that start up. */
@Module({
  imports: [WritePathModule],
  controllers: [SnapshotController],
  providers: [SnapshotRepository, DenyListMirror],
  exports: [DenyListMirror],
})
export class SnapshotModule {}
