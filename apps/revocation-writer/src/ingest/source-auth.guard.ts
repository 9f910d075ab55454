import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  type RawBodyRequest,
} from '@nestjs/common';
import type { EventSourceName } from '@rescind/contracts';
import { type AuthenticatedRequest, BearerAuthGuard } from '../auth/auth.guard';
import { hasPermission } from '../auth/permissions';
import { InjectConfig, type WriterConfig } from '../config/config';
import { ForbiddenError, NotFoundError } from '../errors';
import { verifyWebhook, WebhookVerificationError } from './webhook-signature';

const SOURCES: readonly EventSourceName[] = ['hr', 'idp', 'siem'];

export type SourceRequest = RawBodyRequest<AuthenticatedRequest> & {
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
    @InjectConfig('sources') private readonly sources: WriterConfig['sources'],
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SourceRequest>();
    const source = sourceOf(request);
    const signature = request.headers['webhook-signature'];
    if (signature !== undefined) {
      const secrets = this.sources.webhookSecrets[source];
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
        this.sources.webhookToleranceSeconds,
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
