import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { backoffDelay } from '@rescind/contracts';
import { DataSource } from 'typeorm';
import { InjectConfig, type WriterConfig } from '../config/config';
import { WriterMetrics } from '../metrics/writer-metrics';
import { AuditRepository } from '../write-path/audit.repository';
import { IdentityProviderClient, UpstreamError } from './identity-provider.client';
import { type UpstreamCall, UpstreamCallsRepository } from './upstream-calls.repository';

/** Calls claimed per round. */
const BATCH = 10;

/**
 * Works off the calls grant-wide revocations owe identity providers (`upstream_call`): each due
 * call is made once per round, in a transaction holding its row (other writers skip it), and
 * settled there with its audit record: `upstream.revoked` once the IdP answered, or
 * `upstream.failed` when it refused for good or after `UPSTREAM_MAX_ATTEMPTS` tries. A call that
 * may succeed later waits with capped exponential back-off. Nothing waits on this loop: the rules
 * already reject the tokens at every enforcement point.
 */
@Injectable()
export class UpstreamWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UpstreamWorker.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly issuers: Map<string, WriterConfig['issuers'][number]>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly calls: UpstreamCallsRepository,
    private readonly client: IdentityProviderClient,
    private readonly audit: AuditRepository,
    private readonly metrics: WriterMetrics,
    @InjectConfig('upstream') private readonly config: WriterConfig['upstream'],
    @InjectConfig('issuers') issuers: WriterConfig['issuers'],
  ) {
    this.issuers = new Map(issuers.map((i) => [i.issuer, i]));
    metrics.observeUpstreamBacklog(() => this.calls.pending(this.dataSource.manager));
  }

  onApplicationBootstrap(): void {
    if (this.config.workerEnabled) {
      this.schedule(0);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((error: unknown) => {
          // PostgreSQL away: try again next round.
          this.logger.warn(`upstream round failed: ${(error as Error).message}`);
          return 0;
        })
        .then((made) => this.schedule(made === BATCH ? 0 : this.config.pollIntervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** One round: the due calls, each made and settled. Returns how many were claimed. */
  async round(): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const due = await this.calls.claimDue(em, BATCH);
      for (const call of due) {
        await this.make(em, call);
      }
      return due.length;
    });
  }

  private async make(em: import('typeorm').EntityManager, call: UpstreamCall): Promise<void> {
    const attempts = call.attempts + 1;
    const issuer = this.issuers.get(call.issuer);
    const what = `global token revocation at ${call.issuer} for sub ${JSON.stringify(call.subject)}`;
    if (issuer?.upstream?.globalRevocationEndpoint === undefined) {
      await this.settle(
        em,
        call,
        'failed',
        attempts,
        `${what}: the issuer is no longer configured with a globalRevocationEndpoint`,
      );
      return;
    }
    try {
      const { status } = await this.client.revokeSubject(
        { issuer: issuer.issuer, upstream: issuer.upstream },
        call.subject,
      );
      await this.settle(
        em,
        call,
        'done',
        attempts,
        `${what}: HTTP ${status} after ${attempts} attempt(s)`,
      );
    } catch (error) {
      const failure = error instanceof UpstreamError ? error : undefined;
      const detail = failure?.message ?? (error as Error).message;
      if (failure?.retriable === true && attempts < this.config.maxAttempts) {
        await this.calls.retryLater(
          em,
          call.id,
          attempts,
          backoffDelay(attempts, { initialMs: 1_000, capMs: this.config.maxBackoffMs }),
          detail,
        );
        this.metrics.upstreamCalls.add(1, { issuer: call.issuer, outcome: 'retry' });
        return;
      }
      await this.settle(
        em,
        call,
        'failed',
        attempts,
        `${what}: ${detail}; gave up after ${attempts} attempt(s)`,
      );
    }
  }

  private async settle(
    em: import('typeorm').EntityManager,
    call: UpstreamCall,
    status: 'done' | 'failed',
    attempts: number,
    reason: string,
  ): Promise<void> {
    await this.calls.settle(em, call.id, status, attempts, status === 'failed' ? reason : null);
    await this.audit.appendUpstream(em, {
      action: status === 'done' ? 'upstream.revoked' : 'upstream.failed',
      source: call.source,
      sourceEventId: call.sourceEventId,
      revocationId: call.revocationId,
      ruleKey: call.ruleKey,
      reason,
    });
    this.metrics.upstreamCalls.add(1, { issuer: call.issuer, outcome: status });
    if (status === 'failed') {
      this.logger.error(reason);
    }
  }
}
