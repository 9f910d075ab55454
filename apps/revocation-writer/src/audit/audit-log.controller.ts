import { Controller, Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { type AuthenticatedRequest, BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { type ReadScope, readScopeOf } from '../auth/permissions';
import { type AuditFilters, AuditLogQueries, type AuditRecord } from './audit-log.repository';
import { decodeCursor, encodeCursor } from '../revocations/cursor';
import { type AuditEntry, type AuditPage, AuditQuerySchema } from './audit.dto';
import { parseQuery } from '../revocations/http-query';
import { rfc3339, toRuleResource } from '../revocations/rule-resource';

export const NDJSON = 'application/x-ndjson';
/** Records per query of an export: bounds the writer's memory whatever the size of the log. */
const EXPORT_BATCH = 500;

export function toAuditEntry(record: AuditRecord): AuditEntry {
  return {
    id: record.id,
    recordedAt: rfc3339(record.recordedAt.getTime()),
    occurredAt: record.occurredAt === null ? null : rfc3339(record.occurredAt.getTime()),
    actor: record.actor,
    actorName: record.actorName,
    actorRole: record.actorRole,
    action: record.action,
    reason: record.reason,
    source: record.source,
    sourceEventId: record.sourceEventId,
    revocationId: record.revocationId,
    ruleKey: record.ruleKey,
    seq: record.seq,
    before: record.before === null ? null : toRuleResource(record.before),
    after: record.after === null ? null : toRuleResource(record.after),
  };
}

function wantsNdjson(request: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) {
    return format === 'ndjson';
  }
  const accept = request.headers.accept ?? '';
  return accept.split(',').some((range) => range.split(';')[0]?.trim().toLowerCase() === NDJSON);
}

/**
 * The audit log for people (pages) and for SIEMs (an NDJSON export of everything matching). A
 * principal acting for one issuer reads the records of that issuer's rules only.
 */
@Controller('v1/audit')
@UseGuards(BearerAuthGuard)
export class AuditLogController {
  constructor(private readonly queries: AuditLogQueries) {}

  @Get()
  @RequirePermission('read')
  async read(
    @Req() request: AuthenticatedRequest,
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuditPage | Readable> {
    const { limit, cursor, format, ...filters } = parseQuery(AuditQuerySchema, query);
    const scope = readScopeOf(request.principal!);
    if (wantsNdjson(request, format)) {
      const stream = await this.export(scope, filters);
      void reply.header('content-type', NDJSON);
      return stream;
    }
    const beforeId = cursor === undefined ? undefined : decodeCursor('audit', cursor);
    const found = await this.queries.page(scope, filters, limit + 1, beforeId);
    const items = found.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toAuditEntry),
      nextCursor: found.length > limit && last ? encodeCursor('audit', last.id) : null,
    };
  }

  /**
   * Oldest first, the order the log was written in, so a SIEM ingests it as a timeline. The end
   * is fixed when the export starts; records appended meanwhile belong to the next export. The
   * first batch is read before answering, so an unreachable database is a 503 problem rather
   * than an empty 200; a failure later can only cut the stream short (the client sees a
   * truncated chunked response, never a well-formed partial one).
   */
  private async export(scope: ReadScope, filters: AuditFilters): Promise<Readable> {
    const upToId = await this.queries.newestId();
    const batches = this.queries.ascending(scope, filters, { afterId: 0, upToId }, EXPORT_BATCH);
    const first = await batches.next();
    const ndjson = (batch: AuditRecord[]): string =>
      batch.map((record) => `${JSON.stringify(toAuditEntry(record))}\n`).join('');
    async function* lines(): AsyncGenerator<string> {
      if (first.done) {
        return;
      }
      yield ndjson(first.value);
      for await (const batch of batches) {
        yield ndjson(batch);
      }
    }
    return Readable.from(lines());
  }
}
