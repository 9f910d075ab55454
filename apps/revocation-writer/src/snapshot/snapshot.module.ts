import { Module } from '@nestjs/common';
import { SnapshotController } from './snapshot.controller';
import { SnapshotRepository } from './snapshot.repository';

/** `GET /v1/deny-list/snapshot`: the rules in force, for enforcement points that start up. */
@Module({ controllers: [SnapshotController], providers: [SnapshotRepository] })
export class SnapshotModule {}
