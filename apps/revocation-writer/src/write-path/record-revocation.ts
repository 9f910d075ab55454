import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { classifyFailure } from '../failure';
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
import { GroupCommit, type Settled } from './group-commit';
import { LocalCommits } from './local-commits';
import { PendingWrites } from './pending-writes';
import { reinstatement } from './reinstatement';
import { RuleJournal } from './rule-journal';
import { RulePolicy } from './rule-policy';
import { RulesRepository } from './rules.repository';
import { activeTraceHeaders, traced } from '../telemetry/traced';
import { type EventClaim, ProcessedEventsRepository } from './processed-events.repository';
import {
  type IdentifiedRevocationCommand,
  isInForce,
  type RevocationCommand,
  type RevocationResult,
  type UnidentifiedRevocationCommand,
} from './revocation-command';

/** A deadlock or serialization failure between two writers' batches: the batch is run again. */
const RERUNS_OF_A_CONFLICTED_BATCH = 3;

/** A refusal of the statements a segment's commands shared: each command is run alone instead. */
class SplitSegment extends Error {
  constructor(readonly error: unknown) {
    super('the shared statements of a batch were refused');
  }
}

/** The command at `index` of a batch failed for itself (its neighbours did not). */
class CommandFailure extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super('a command of the batch failed');
  }
}

/**
 * The use case behind every ingest transport: refuse rules enforcement points could not apply,
 * authorize, then in ONE transaction claim the event id (or, for a request without one, find the
 * rules already in force), raise each rule, append the audit record and the outbox message.
 * Answers after commit. A database error leaves as what it means (`databaseError`), so that every
 * transport answers it alike: 503 to retry, or a refusal that is never retried.
 *
 * Transactions are shared. `executeMany` runs a list of commands (one fetch of an input topic,
 * a bulk request) in as few transactions as it can, in order; `execute` hands one command to the
 * group commit, which runs the commands of concurrent requests together. Either way each command
 * gets its own outcome: a command that fails for itself (a conflict, a refused rule, a bug) is
 * taken out and the others are run again without it, in order, so a poison event never fails its
 * neighbours; a failure of the transaction (PostgreSQL unreachable) is the outcome of each
 * command it held; nothing is answered before its transaction committed.
 */
@Injectable()
export class RecordRevocation {
  private readonly groupCommit: GroupCommit<RevocationCommand, RevocationResult>;

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
    @InjectConfig('writePath') writePath: WriterConfig['writePath'],
    private readonly localCommits: LocalCommits,
  ) {
    this.groupCommit = new GroupCommit((commands) => this.executeMany(commands), {
      maxBatch: writePath.maxBatchEvents,
      concurrency: writePath.concurrency,
    });
  }

  /** One command, in a transaction it may share with concurrent ones (group commit). */
  async execute(command: RevocationCommand): Promise<RevocationResult> {
    const settled = await this.groupCommit.submit(command);
    if (!settled.ok) {
      throw settled.error;
    }
    return settled.value;
  }

  /**
   * Every command in order, one outcome each (errors as `databaseError` means them), in as few
   * transactions as possible: one, unless a command fails for itself.
   */
  async executeMany(
    commands: readonly RevocationCommand[],
  ): Promise<Array<Settled<RevocationResult>>> {
    const outcomes = new Array<Settled<RevocationResult> | undefined>(commands.length);
    const runnable: Array<{ index: number; command: RevocationCommand }> = [];
    commands.forEach((command, index) => {
      try {
        runnable.push({ index, command: this.authorized(scopedCommand(command)) });
      } catch (error) {
        outcomes[index] = { ok: false, error };
      }
    });
    // Segments still to run, in order: a failed command splits its segment in two.
    const segments = runnable.length > 0 ? [runnable] : [];
    while (segments.length > 0) {
      const segment = segments.shift()!;
      const done = await this.runSegment(segment.map((s) => s.command));
      if (done.failed === undefined) {
        done.results.forEach((result, i) => {
          outcomes[segment[i]!.index] = { ok: true, value: result };
        });
        continue;
      }
      const { index, error } = done.failed;
      if (error instanceof SplitSegment) {
        segments.unshift(...segment.map((one) => [one]));
        continue;
      }
      if (index === null) {
        // The transaction failed as a whole: every command it held fails with it.
        for (const { index: at } of [...segment, ...segments.flat()]) {
          outcomes[at] = { ok: false, error };
        }
        break;
      }
      outcomes[segment[index]!.index] = { ok: false, error };
      segments.unshift(
        ...[segment.slice(0, index), segment.slice(index + 1)].filter((s) => s.length > 0),
      );
    }
    const settled = outcomes.map(
      (outcome): Settled<RevocationResult> =>
        outcome ?? { ok: false, error: new Error('command was not run') },
    );
    settled.forEach((outcome, i) => this.count(commands[i]!, outcome));
    return settled;
  }

  private count(command: RevocationCommand, outcome: Settled<RevocationResult>): void {
    let label: string;
    if (outcome.ok) {
      label = outcome.value.duplicate ? 'duplicate' : 'accepted';
    } else {
      const error = databaseError(outcome.error) ?? outcome.error;
      label = error instanceof RescindError ? error.code : 'internal_error';
    }
    this.metrics.ingested.add(1, { source: command.source, outcome: label });
    if (!outcome.ok || outcome.value.duplicate) {
      return;
    }
    if (command.occurredAt !== null) {
      // A source clock ahead of ours is not a negative delay.
      const seconds = Math.max(0, Date.now() - command.occurredAt.getTime()) / 1000;
      this.metrics.detectionToCommit.record(seconds, { source: command.source });
    }
    for (const reinstatement of outcome.value.reinstatements ?? []) {
      this.metrics.reinstatements.add(1, {
        source: command.source,
        outcome: reinstatement.outcome,
      });
    }
  }

  /** Checks a command can be recorded as it stands, before any transaction: throws if not. */
  private authorized(command: RevocationCommand): RevocationCommand {
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
    return command;
  }

  /**
   * One transaction for `commands`: their results, or which command failed for itself (`index`),
   * or (`index: null`) the error that failed the transaction as a whole. A deadlock with another
   * writer's transaction is run again, a few times, before it counts as the latter. What fails
   * in the statements the commands share (`prelude`, the flush) is pinned on one command by
   * running them again one statement each, and then alone.
   */
  private async runSegment(
    commands: RevocationCommand[],
  ): Promise<
    | { results: RevocationResult[]; failed?: undefined }
    | { failed: { index: number | null; error: unknown } }
  > {
    let shared = commands.length > 1;
    for (let run = 1; ; run++) {
      try {
        const started = performance.now();
        const results = await this.transact(commands, shared);
        this.localCommits.committed(
          results.flatMap((r) => (r.duplicate ? [] : [...r.rules, ...(r.reinstatements ?? [])])),
        );
        this.metrics.transactionEvents.record(commands.length);
        this.metrics.transactionDuration.record((performance.now() - started) / 1000);
        return { results };
      } catch (caught) {
        let thrown: unknown = caught;
        if (caught instanceof CommandFailure) {
          const error = databaseError(caught.error) ?? caught.error;
          if (classifyFailure(error).verdict !== 'retry') {
            return { failed: { index: caught.index, error } };
          }
          thrown = caught.error;
        }
        const error = databaseError(thrown) ?? thrown;
        if (classifyFailure(error).verdict === 'retry') {
          if (run < RERUNS_OF_A_CONFLICTED_BATCH && isConflictBetweenWriters(thrown)) {
            continue;
          }
          return { failed: { index: null, error } };
        }
        if (shared) {
          shared = false; // again, each command's statements its own
          continue;
        }
        if (commands.length === 1) {
          return { failed: { index: 0, error } };
        }
        // Only the flush is left to blame: the first command alone shows whether it is its.
        return { failed: { index: null, error: new SplitSegment(error) } };
      }
    }
  }

  private transact(commands: RevocationCommand[], shared: boolean): Promise<RevocationResult[]> {
    return this.dataSource.transaction(async (em) => {
      const pending = new PendingWrites();
      if (shared) {
        await this.prelude(em, commands, pending);
      }
      const results: RevocationResult[] = [];
      for (const [index, command] of commands.entries()) {
        try {
          results.push(await this.recordTraced(em, command, pending));
        } catch (error) {
          throw new CommandFailure(index, error);
        }
      }
      // Audit entries, outbox rows, the events' answers and the NOTIFY: one round trip.
      const answers = this.processedEvents.takeAnswers(pending);
      await this.journal.flushWith(
        em,
        pending,
        answers.length > 0
          ? (offset) => this.processedEvents.answersStatement(answers, offset)
          : undefined,
      );
      return results;
    });
  }

  /**
   * What the commands of a batch would each do in a statement of their own, done for all of
   * them in two: claim every event id (distinct ids without transport claims), then create the
   * rules that do not exist yet, for the command that touches each key first. Every later touch
   * of a key (a second revocation of the same subject in the batch, a reinstatement) takes the
   * usual path under the row lock, in order, so the outcome is the one-by-one outcome.
   */
  private async prelude(
    em: EntityManager,
    commands: RevocationCommand[],
    pending: PendingWrites,
  ): Promise<void> {
    const touched = new Set<string>();
    const claims: IdentifiedRevocationCommand[] = [];
    const firstTouches: Array<{ command: IdentifiedRevocationCommand; spec: RuleSpec }> = [];
    const events = new Set<string>();
    for (const command of commands) {
      const keys = [
        ...command.rules,
        ...(command.eventId !== null ? (command.reinstate ?? []) : []),
      ];
      if (command.eventId === null || hasTransportClaims(command)) {
        keys.forEach((k) => touched.add(ruleKey(k)));
        continue;
      }
      const event = PendingWrites.answerKey(command.source, command.eventId);
      if (events.has(event)) {
        keys.forEach((k) => touched.add(ruleKey(k)));
        continue;
      }
      events.add(event);
      claims.push(command);
      for (const spec of command.rules) {
        const key = ruleKey(spec);
        if (!touched.has(key)) {
          firstTouches.push({ command, spec });
        }
        touched.add(key);
      }
      (command.reinstate ?? []).forEach((k) => touched.add(ruleKey(k)));
    }
    await this.processedEvents.claimMany(em, claims, pending);
    await this.rules.insertMany(
      em,
      firstTouches
        .filter(
          ({ command }) =>
            pending.claimed.get(PendingWrites.answerKey(command.source, command.eventId)) === null,
        )
        .map(({ command, spec }) => ({
          spec,
          meta: { source: command.source, sourceEventId: command.eventId, reason: command.reason },
        })),
      pending.inserted,
    );
  }

  private recordTraced(
    em: EntityManager,
    command: RevocationCommand,
    pending: PendingWrites,
  ): Promise<RevocationResult> {
    return traced(
      'rescind.revocation.record',
      { 'rescind.source': command.source, 'rescind.rules': command.rules.length },
      command.traceContext,
      async (span) => {
        // Trace context of this span goes with every outbox message.
        const traceHeaders = activeTraceHeaders();
        const result =
          command.eventId === null
            ? await this.recordUnlessInForce(em, command, traceHeaders, pending)
            : await this.recordOnce(em, command, traceHeaders, pending);
        span.setAttribute('rescind.duplicate', result.duplicate);
        if (result.seq !== null) {
          span.setAttribute('rescind.seq', result.seq);
        }
        return result;
      },
    );
  }

  /** Claims the event id first: a repeated event gets its first answer and writes nothing. */
  private async recordOnce(
    em: EntityManager,
    command: IdentifiedRevocationCommand,
    traceHeaders: Record<string, string>,
    pending: PendingWrites,
  ): Promise<RevocationResult> {
    const { result, duplicate } = await this.processedEvents.once(
      em,
      command,
      async () => {
        const written: RevocationResult['rules'] = [];
        for (const spec of command.rules) {
          const rule = await this.writeRule(em, command, spec, traceHeaders, pending);
          written.push(rule);
          await this.owedUpstream(em, command, spec, rule);
        }
        if (command.reinstate === undefined) {
          return resultOf(written, false);
        }
        const reinstatements: NonNullable<RevocationResult['reinstatements']> = [];
        for (const identity of command.reinstate) {
          reinstatements.push(
            await this.reinstateRule(em, command, identity, traceHeaders, pending),
          );
        }
        return { ...resultOf(written, false), reinstatements };
      },
      pending,
    );
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
    pending: PendingWrites,
  ): Promise<RevocationResult> {
    const rules: RevocationResult['rules'] = [];
    let wroteAny = false;
    for (const spec of command.rules) {
      const stored = await this.rules.lock(em, 'rule_key', ruleKey(spec));
      if (stored !== undefined && isInForce(stored, spec.minimum)) {
        rules.push({ revocationId: stored.id, key: stored.key, seq: stored.seq });
        continue;
      }
      rules.push(await this.writeRule(em, command, spec, traceHeaders, pending));
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
    pending: PendingWrites,
  ): Promise<NonNullable<RevocationResult['reinstatements']>[number]> {
    const key = ruleKey(identity);
    const before = await this.rules.lock(em, 'rule_key', key);
    if (before === undefined || before.status !== 'active') {
      return { key, outcome: 'not_active' };
    }
    // Who revoked it is read from the audit log: what this transaction gathered goes there first.
    await this.journal.flush(em, pending);
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
    this.journal.defer(
      pending,
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
    pending: PendingWrites,
  ): Promise<RevocationResult['rules'][number]> {
    const change = await this.rules.writeRevocation(
      em,
      spec,
      { source: command.source, sourceEventId: command.eventId, reason: command.reason },
      pending.inserted,
    );
    this.journal.defer(pending, change, {
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

/** SQLSTATE 40P01 (deadlock) or 40001 (serialization failure): the same batch may well pass again. */
function isConflictBetweenWriters(error: unknown): boolean {
  const { code, driverError } = (error ?? {}) as {
    code?: unknown;
    driverError?: { code?: unknown };
  };
  const sqlState = code ?? driverError?.code;
  return sqlState === '40P01' || sqlState === '40001';
}

/** A command that carries claims of its transport (a signed webhook's replay guard), taken first. */
function hasTransportClaims(command: IdentifiedRevocationCommand): boolean {
  return ((command as Partial<Pick<EventClaim, 'claims'>>).claims ?? []).length > 0;
}
