import { Body, Controller, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { EventSourceName } from '@rescind/contracts';
import { traceContextOf } from '../http/trace-context';
import { requireJson } from '../http/validation';
import { IngestSourceEvent } from './ingest-source-event';
import type { RevocationResult } from '../write-path/revocation-command';
import { SourceAuthGuard, type SourceRequest } from './source-auth.guard';

/**
 * HR, IdP and SIEM systems post their events here. The transport only authenticates, parses and
 * answers; IngestSourceEvent does the rest, as for the Kafka input topics.
 */
@Controller('v1/events')
export class SourceEventsController {
  constructor(private readonly ingest: IngestSourceEvent) {}

  /** 202 once the rules, audit records and outbox messages are committed; never before. */
  @Post(':source')
  @HttpCode(202)
  @UseGuards(SourceAuthGuard)
  async receive(
    @Req() request: SourceRequest,
    @Param('source') source: EventSourceName,
    @Body() body: unknown,
  ): Promise<RevocationResult> {
    const receivedAt = new Date();
    requireJson(request);
    return this.ingest.execute({
      source,
      body,
      principal: request.principal!,
      receivedAt,
      webhookId: request.webhookId,
      traceContext: traceContextOf(request),
    });
  }
}
