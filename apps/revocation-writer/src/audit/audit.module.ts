import { Module } from '@nestjs/common';
import { AuditLogController } from './audit-log.controller';
import { AuditLogQueries } from './audit-log.repository';

/**
 * Reading the audit log (`GET /v1/audit`). Appending is the write path's (`AuditRepository`, in
 * the same transaction as the change it records); the table refuses updates and deletes.
 */
@Module({
  controllers: [AuditLogController],
  providers: [AuditLogQueries],
})
export class AuditModule {}
