import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { mayRead, type Principal, readScopeOf } from '../auth/permissions';
import { NotFoundError } from '../errors';
import {
  type EventClaim,
  type IdempotencyScope,
  ProcessedEventsRepository,
} from './processed-events.repository';
import type { StoredRule } from './stored-rule';
import { RuleJournal } from './rule-journal';
import { RulePolicy } from './rule-policy';
import { LocalCommits } from './local-commits';
import { RulesRepository } from './rules.repository';
import { UUID_TEXT } from '../database/uuid';
import { WriterMetrics } from '../metrics/writer-metrics';
import { activeTraceHeaders, traced } from '../telemetry/traced';
import { reinstatement } from './reinstatement';

/**
 * Namespace of reinstatements' idempotency keys: apart from the creates' (`operator`), so that
 * one key sent to both endpoints is two requests, never one request with two bodies.
 */
export const REINSTATE_SCOPE = 'operator.reinstate' satisfies IdempotencyScope;

export interface ReinstateCommand {
  /** Id of the rule. */
  id: string;
  /**
   * Authenticated caller; the permission was checked by the transport. Acting for one issuer, it
   * reinstates that issuer's rules only.
   */
  principal: Principal;
  reason: string;
  /** Lower the rule to this instant (ms) instead of removing it. */
  lowerTo: number | undefined;
  receivedAt: Date;
  /**
   * The caller's `Idempotency-Key` and the fingerprint of the request, when it sent one: a retry
   * gets the first answer, the same key with another request is a conflict.
   */
  idempotency: { key: string; requestSha256: string } | null;
  /** W3C trace context of the request, carried through the outbox into Kafka headers. */
  traceContext: Record<string, string>;
}

export interface ReinstateResult {
  /** The version the reinstatement wrote (for a retry: the version the first request wrote). */
  rule: StoredRule;
  /** Nothing was written: the key was used before for this request, and this is its answer. */
  duplicate: boolean;
}

/**
 * Undoes an over-broad revocation: removes the rule, or lowers its `revokedBefore`. The only way
 * a rule goes down, so it is explicit, audited, and, like every change, one transaction under the
 * row lock: claim the idempotency key (if any), lock, check, write the new version (new seq),
 * audit record and outbox message. A retry of a lost answer must not remove a rule revived since
 * or lower it twice, hence the key, claimed with the change so that a crash keeps both or none.
 */
@Injectable()
export class ReinstateRule {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rules: RulesRepository,
    private readonly journal: RuleJournal,
    private readonly processedEvents: ProcessedEventsRepository,
    private readonly policy: RulePolicy,
    private readonly localCommits: LocalCommits,
    private readonly metrics: WriterMetrics,
  ) {}

  async execute(command: ReinstateCommand): Promise<ReinstateResult> {
    if (!UUID_TEXT.test(command.id)) {
      throw new NotFoundError(`no rule with id ${JSON.stringify(command.id)}`);
    }
    return traced(
      'rescind.revocation.reinstate',
      { 'rescind.revocation_id': command.id, 'rescind.lower': command.lowerTo !== undefined },
      command.traceContext,
      async (span) => {
        const result = await this.transact(command);
        this.localCommits.committed([result.rule]);
        if (!result.duplicate) {
          this.metrics.reinstatements.add(1, {
            source: 'operator',
            outcome: command.lowerTo !== undefined ? 'lowered' : 'reinstated',
          });
        }
        span.setAttribute('rescind.seq', result.rule.seq);
        span.setAttribute('rescind.duplicate', result.duplicate);
        return result;
      },
    );
  }

  private transact(command: ReinstateCommand): Promise<ReinstateResult> {
    const traceHeaders = activeTraceHeaders();

    return this.dataSource.transaction(async (em) => {
      const { idempotency } = command;
      if (idempotency === null) {
        return { rule: await this.reinstate(em, command, traceHeaders), duplicate: false };
      }
      // Claimed before the rule is locked, like a create: a concurrent retry waits here for the
      // first request's commit, then gets its answer instead of `rule not active`.
      const claim: EventClaim = {
        source: REINSTATE_SCOPE,
        eventId: idempotency.key,
        bodySha256: idempotency.requestSha256,
        receivedAt: command.receivedAt,
      };
      const { result, duplicate } = await this.processedEvents.once(em, claim, () =>
        this.reinstate(em, command, traceHeaders),
      );
      return { rule: result, duplicate };
    });
  }

  /**
   * Locks the rule, checks it still revokes, writes the lower version and journals it. A rule the
   * caller may not read is "no rule" to it, like in listings: 404, its existence not told.
   */
  private async reinstate(
    em: EntityManager,
    command: ReinstateCommand,
    traceHeaders: Record<string, string>,
  ): Promise<StoredRule> {
    const before = await this.rules.lock(em, 'id', command.id);
    if (!before || !mayRead(readScopeOf(command.principal), before)) {
      throw new NotFoundError(`no rule with id ${command.id}`);
    }
    const next = reinstatement(before, command.lowerTo, {
      policy: this.policy,
      nowMs: command.receivedAt.getTime(),
    });
    // The key, like a create's, names the request that made this version.
    const sourceEventId = command.idempotency?.key ?? null;
    const after = await this.rules.update(em, before.id, {
      revokedBefore: next.revokedBefore,
      expiresAt: next.expiresAt,
      status: next.status,
      source: 'operator',
      sourceEventId,
      reason: command.reason,
    });
    await this.journal.record(
      em,
      { before, after },
      {
        actor: command.principal.id,
        actorRole: command.principal.role,
        action: next.action,
        source: 'operator',
        sourceEventId,
        occurredAt: command.receivedAt,
        reason: command.reason,
        traceHeaders,
      },
    );
    return after;
  }
}
