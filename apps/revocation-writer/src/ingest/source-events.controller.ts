import {
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  HttpCode,
  Inject,
  Injectable,
  Param,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import type { EventSourceName } from '@rescind/contracts';
import type { RawBodyRequest } from '@nestjs/common';
import { type AuthenticatedRequest, BearerAuthGuard } from '../auth/auth.guard';
import { hasPermission } from '../auth/permissions';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { ForbiddenError, NotFoundError } from '../errors';
import { traceContextOf } from '../http/trace-context';
import { requireJson } from '../http/validation';
import { IngestSourceEvent } from './ingest-source-event';
import type { RevocationResult } from '../write-path/revocation-command';
import { verifyWebhook, WebhookVerificationError } from './webhook-signature';

const SOURCES: readonly EventSourceName[] = ['hr', 'idp', 'siem'];

type SourceRequest = RawBodyRequest<AuthenticatedRequest> & {
  params: { source?: string };
  /** Set by SourceAuthGuard for a signed delivery: its replay guard, not its idempotency key. */
  webhookId?: string;
};

function sourceOf(request: SourceRequest): EventSourceName {
  const source = request.params.source as EventSourceName;
  if (!SOURCES.includes(source)) {
    throw new NotFoundError(
      `no event source "${String(request.params.source)}"; one of ${SOURCES.join(', ')}`,
    );
  }
  return source;
}

/**
 * A source authenticates either by signing (Standard Webhooks, when a secret is configured for
 * it) or with a bearer API credential whose role may ingest that source's events.
 */
@Injectable()
export class SourceAuthGuard implements CanActivate {
  constructor(
    private readonly bearer: BearerAuthGuard,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SourceRequest>();
    const source = sourceOf(request);
    const signature = request.headers['webhook-signature'];
    if (signature !== undefined) {
      const secrets = this.config.sources.webhookSecrets[source];
      if (!secrets) {
        throw new WebhookVerificationError(
          `signed webhooks are not enabled for source "${source}"`,
        );
      }
      request.webhookId = verifyWebhook(
        {
          id: header(request, 'webhook-id'),
          timestamp: header(request, 'webhook-timestamp'),
          signature: typeof signature === 'string' ? signature : signature.join(' '),
        },
        request.rawBody ?? Buffer.alloc(0),
        secrets,
        this.config.sources.webhookToleranceSeconds,
        Date.now(),
      );
      request.principal = { id: `webhook:${source}`, name: `${source} webhook`, role: source };
      return true;
    }
    await this.bearer.canActivate(context);
    if (!hasPermission(request.principal!, `ingest:${source}`)) {
      throw new ForbiddenError(`role "${request.principal!.role}" may not send ${source} events`);
    }
    return true;
  }
}

function header(request: SourceRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

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
