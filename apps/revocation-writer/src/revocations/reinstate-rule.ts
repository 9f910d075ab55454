import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/permissions';
import { NotFoundError } from '../errors';
import type { StoredRule } from '../rules/rule';
import { RuleJournal } from '../rules/rule-journal';
import { RulePolicy } from '../rules/rule-policy';
import { RulesRepository } from '../rules/rules.repository';
import { activeTraceHeaders, traced } from '../telemetry/traced';
import { RuleNotActiveError } from './errors';
import { reinstatement } from './operator-rules';
import { UUID_TEXT } from './rule-queries.repository';

export interface ReinstateCommand {
  /** Id of the rule. */
  id: string;
  /** Authenticated caller; the permission was checked by the transport. */
  principal: Principal;
  reason: string;
  /** Lower the rule to this instant (ms) instead of removing it. */
  lowerTo: number | undefined;
  receivedAt: Date;
  /** W3C trace context of the request, carried through the outbox into Kafka headers. */
  traceContext: Record<string, string>;
}

/**
 * Undoes an over-broad revocation: removes the rule, or lowers its `revokedBefore`. The only way
 * a rule goes down, so it is explicit, audited, and, like every change, one transaction under the
 * row lock: lock, check, write the new version (new seq), audit record and outbox message.
 */
@Injectable()
export class ReinstateRule {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rules: RulesRepository,
    private readonly journal: RuleJournal,
    private readonly policy: RulePolicy,
  ) {}

  async execute(command: ReinstateCommand): Promise<StoredRule> {
    if (!UUID_TEXT.test(command.id)) {
      throw new NotFoundError(`no rule with id ${JSON.stringify(command.id)}`);
    }
    return traced(
      'rescind.revocation.reinstate',
      { 'rescind.revocation_id': command.id, 'rescind.lower': command.lowerTo !== undefined },
      command.traceContext,
      async (span) => {
        const rule = await this.transact(command);
        span.setAttribute('rescind.seq', rule.seq);
        return rule;
      },
    );
  }

  private transact(command: ReinstateCommand): Promise<StoredRule> {
    const traceHeaders = activeTraceHeaders();

    return this.dataSource.transaction(async (em) => {
      const before = await this.rules.lock(em, 'id', command.id);
      if (!before) {
        throw new NotFoundError(`no rule with id ${command.id}`);
      }
      if (before.status !== 'active') {
        throw new RuleNotActiveError(before.id, before.status);
      }
      const next = reinstatement(before, command.lowerTo, {
        policy: this.policy,
        nowMs: command.receivedAt.getTime(),
      });
      const after = await this.rules.update(em, before.id, {
        revokedBefore: next.revokedBefore,
        expiresAt: next.expiresAt,
        status: next.status,
        source: 'operator',
        sourceEventId: null,
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
          sourceEventId: null,
          occurredAt: command.receivedAt,
          reason: command.reason,
          traceHeaders,
        },
      );
      return after;
    });
  }
}
