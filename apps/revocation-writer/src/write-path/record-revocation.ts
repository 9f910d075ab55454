import { Injectable } from '@nestjs/common';
import { ruleKey } from '@rescind/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { authorizeRules, scopeToPrincipal } from '../auth/authorize-rules';
import { InjectConfig, type WriterConfig } from '../config/config';
import { databaseError, RescindError } from '../errors';
import { WriterMetrics } from '../metrics/writer-metrics';
import { assertPublishable } from './publishable-rules';
import type { RuleSpec } from './stored-rule';
import { UpstreamCallsRepository } from '../upstream/upstream-calls.repository';
import { AuditRepository } from './audit.repository';
import { reinstatement } from './reinstatement';
import { RuleJournal } from './rule-journal';
import { RulePolicy } from './rule-policy';
import { RulesRepository } from './rules.repository';
import { activeTraceHeaders, traced } from '../telemetry/traced';
import { ProcessedEventsRepository } from './processed-events.repository';
import {
  type IdentifiedRevocationCommand,
  isInForce,
  type RevocationCommand,
  type RevocationResult,
  type UnidentifiedRevocationCommand,
} from './revocation-command';

/**
 * The use case behind every ingest transport: refuse rules enforcement points could not apply,
 * authorize, then in ONE transaction claim the event id (or, for a request without one, find the
 * rules already in force), raise each rule, append the audit record and the outbox message.
 * Answers after commit. A database error leaves as what it means (`databaseError`), so that every
 * transport answers it alike: 503 to retry, or a refusal that is never retried.
 */
@Injectable()
export class RecordRevocation {
  constructor(
    private readonly dataSource: DataSource,
    private readonly processedEvents: ProcessedEventsRepository,
    private readonly rules: RulesRepository,
    private readonly journal: RuleJournal,
    private readonly audit: AuditRepository,
    private readonly upstreamCalls: UpstreamCallsRepository,
    @InjectConfig('issuers') private readonly issuers: WriterConfig['issuers'],
    private readonly policy: RulePolicy,
    private readonly metrics: WriterMetrics,
    @InjectConfig('rules') private readonly rulesConfig: WriterConfig['rules'],
  ) {}

  async execute(command: RevocationCommand): Promise<RevocationResult> {
    try {
      const result = await this.authorizeAndRecord(scopedCommand(command));
      this.metrics.ingested.add(1, {
        source: command.source,
        outcome: result.duplicate ? 'duplicate' : 'accepted',
      });
      return result;
    } catch (thrown) {
      const error = databaseError(thrown) ?? thrown;
      const outcome = error instanceof RescindError ? error.code : 'internal_error';
      this.metrics.ingested.add(1, { source: command.source, outcome });
      throw error;
    }
  }

  private authorizeAndRecord(command: RevocationCommand): Promise<RevocationResult> {
    // What is acknowledged must be what every enforcement point can apply: checked on the rules
    // as they will be written (scoped to the principal's issuer), before anything is.
    assertPublishable(command.rules);
    // Lifting a block needs the same right as imposing it on that rule.
    const lifted =
      command.eventId !== null
        ? (command.reinstate ?? []).map((r) => ({ ...r, revokedBefore: null, expiresAt: null }))
        : [];
    authorizeRules(command.principal, [...command.rules, ...lifted], {
      confirmed: command.confirmed,
      policy: this.policy,
      bulkThreshold: this.rulesConfig.bulkConfirmThreshold,
    });
    return traced(
      'rescind.revocation.record',
      { 'rescind.source': command.source, 'rescind.rules': command.rules.length },
      command.traceContext,
      async (span) => {
        const result = await this.transact(command);
        span.setAttribute('rescind.duplicate', result.duplicate);
        if (result.seq !== null) {
          span.setAttribute('rescind.seq', result.seq);
        }
        return result;
      },
    );
  }

  private transact(command: RevocationCommand): Promise<RevocationResult> {
    // Trace context of this span goes with every outbox message.
    const traceHeaders = activeTraceHeaders();

    return this.dataSource.transaction((em) =>
      command.eventId === null
        ? this.recordUnlessInForce(em, command, traceHeaders)
        : this.recordOnce(em, command, traceHeaders),
    );
  }

  /** Claims the event id first: a repeated event gets its first answer and writes nothing. */
  private async recordOnce(
    em: EntityManager,
    command: IdentifiedRevocationCommand,
    traceHeaders: Record<string, string>,
  ): Promise<RevocationResult> {
    const { result, duplicate } = await this.processedEvents.once(em, command, async () => {
      const written: RevocationResult['rules'] = [];
      for (const spec of command.rules) {
        const rule = await this.writeRule(em, command, spec, traceHeaders);
        written.push(rule);
        await this.owedUpstream(em, command, spec, rule);
      }
      if (command.reinstate === undefined) {
        return resultOf(written, false);
      }
      const reinstatements: NonNullable<RevocationResult['reinstatements']> = [];
      for (const identity of command.reinstate) {
        reinstatements.push(await this.reinstateRule(em, command, identity, traceHeaders));
      }
      return { ...resultOf(written, false), reinstatements };
    });
    return duplicate ? { ...result, duplicate: true } : result;
  }

  /**
   * No event id: each rule is raised unless the stored one is already in force. The rule's row
   * lock, taken first, serialises this check with every other change of the key.
   */
  private async recordUnlessInForce(
    em: EntityManager,
    command: UnidentifiedRevocationCommand,
    traceHeaders: Record<string, string>,
  ): Promise<RevocationResult> {
    const rules: RevocationResult['rules'] = [];
    let wroteAny = false;
    for (const spec of command.rules) {
      const stored = await this.rules.lock(em, 'rule_key', ruleKey(spec));
      if (stored !== undefined && isInForce(stored, spec.minimum)) {
        rules.push({ revocationId: stored.id, key: stored.key, seq: stored.seq });
        continue;
      }
      rules.push(await this.writeRule(em, command, spec, traceHeaders));
      wroteAny = true;
    }
    return resultOf(rules, !wroteAny);
  }

  /**
   * A grant-wide revocation of a subject is also owed to the identity provider of each issuer it
   * covers that offers a global token revocation endpoint: recorded in this transaction, made by
   * `UpstreamWorker` afterwards (never on this request's path).
   */
  private async owedUpstream(
    em: EntityManager,
    command: IdentifiedRevocationCommand,
    spec: RuleSpec,
    rule: RevocationResult['rules'][number],
  ): Promise<void> {
    if (spec.grantWide !== true || spec.claim !== 'sub') {
      return;
    }
    for (const issuer of this.issuers) {
      if (
        issuer.upstream?.globalRevocationEndpoint !== undefined &&
        (spec.iss === null || spec.iss === issuer.issuer)
      ) {
        await this.upstreamCalls.enqueue(em, {
          issuer: issuer.issuer,
          subject: spec.value,
          revocationId: rule.revocationId,
          ruleKey: rule.key,
          source: command.source,
          sourceEventId: command.eventId,
        });
      }
    }
  }

  /**
   * Ends the block an earlier event of the same source put on this rule (an HR rehire ends an HR
   * termination). A rule that another source also raised since it was last made active (a SIEM
   * credential compromise on the same person) is kept: the source that lifts a block may only
   * lift its own, and an operator decides about the rest.
   */
  private async reinstateRule(
    em: EntityManager,
    command: IdentifiedRevocationCommand,
    identity: Pick<RuleSpec, 'claim' | 'value' | 'iss'>,
    traceHeaders: Record<string, string>,
  ): Promise<NonNullable<RevocationResult['reinstatements']>[number]> {
    const key = ruleKey(identity);
    const before = await this.rules.lock(em, 'rule_key', key);
    if (before === undefined || before.status !== 'active') {
      return { key, outcome: 'not_active' };
    }
    const others = (await this.audit.sourcesSinceActivated(em, before.id)).filter(
      (source) => source !== command.source,
    );
    if (others.length > 0) {
      return { key, outcome: 'kept', revocationId: before.id, keptFor: others };
    }
    const next = reinstatement(before, undefined, {
      policy: this.policy,
      nowMs: command.receivedAt.getTime(),
    });
    const after = await this.rules.update(em, before.id, {
      revokedBefore: next.revokedBefore,
      expiresAt: next.expiresAt,
      status: next.status,
      source: command.source,
      sourceEventId: command.eventId,
      reason: command.reason,
    });
    await this.journal.record(
      em,
      { before, after },
      {
        actor: command.principal.id,
        actorRole: command.principal.role,
        action: next.action,
        source: command.source,
        sourceEventId: command.eventId,
        occurredAt: command.occurredAt,
        reason: command.reason,
        traceHeaders,
      },
    );
    return { key, outcome: 'reinstated', revocationId: after.id, seq: after.seq };
  }

  /** One new version of the rule, with its audit record and outbox message. */
  private async writeRule(
    em: EntityManager,
    command: RevocationCommand,
    spec: RuleSpec,
    traceHeaders: Record<string, string>,
  ): Promise<RevocationResult['rules'][number]> {
    const change = await this.rules.writeRevocation(em, spec, {
      source: command.source,
      sourceEventId: command.eventId,
      reason: command.reason,
    });
    await this.journal.record(em, change, {
      actor: command.principal.id,
      actorRole: command.principal.role,
      action: 'rule.set',
      source: command.source,
      sourceEventId: command.eventId,
      occurredAt: command.occurredAt,
      reason: command.reason,
      traceHeaders,
    });
    return { revocationId: change.after.id, key: change.after.key, seq: change.after.seq };
  }
}

/** The command with its rules restricted to the principal's issuer, if it acts for one. */
function scopedCommand(command: RevocationCommand): RevocationCommand {
  return command.eventId === null
    ? { ...command, rules: scopeToPrincipal(command.principal, command.rules) }
    : {
        ...command,
        rules: scopeToPrincipal(command.principal, command.rules),
        ...(command.reinstate !== undefined
          ? {
              reinstate: scopeToPrincipal(
                command.principal,
                command.reinstate.map((r) => ({ ...r, revokedBefore: null, expiresAt: null })),
              ).map(({ claim, value, iss }) => ({ claim, value, iss })),
            }
          : {}),
      };
}

function resultOf(rules: RevocationResult['rules'], duplicate: boolean): RevocationResult {
  return {
    revocationId: rules[0]?.revocationId ?? null,
    seq: rules[0]?.seq ?? null,
    duplicate,
    rules,
  };
}
