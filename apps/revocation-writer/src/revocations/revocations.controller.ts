import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { EventIdSchema } from '@rescind/contracts';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type AuthenticatedRequest, BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { authorizeOperatorRules } from '../auth/authorize-rules';
import { readScopeOf } from '../auth/permissions';
import { InvalidEventError, NotFoundError } from '../errors';
import { traceContextOf } from '../http/trace-context';
import { parseBody, requireJson } from '../http/validation';
import { eventSha256 } from '../ingest/canonical-json';
import { RecordRevocation } from '../write-path/record-revocation';
import { RulePolicy } from '../write-path/rule-policy';
import { decodeCursor, encodeCursor } from './cursor';
import { DryRunRevocation } from './dry-run-revocation';
import {
  type CreatedRevocation,
  type CreateRevocation,
  CreateRevocationSchema,
  type DryRun,
  ListRulesQuerySchema,
  type Reinstate,
  ReinstateSchema,
  type RulePage,
  type RuleResource,
} from './dto/revocations.dto';
import { InvalidHeaderError } from './errors';
import { parseQuery } from './http-query';
import { pastInstant, toRuleSpecs } from './operator-rules';
import { ReinstateRule } from '../write-path/reinstate-rule';
import { RuleQueries } from './rule-queries.repository';
import { rfc3339OrNull, toRuleResource } from './rule-resource';

/**
 * The caller's `Idempotency-Key`: the event id of source `operator` for a create, of
 * `operator.reinstate` for a reinstatement.
 */
function idempotencyKey(request: AuthenticatedRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) {
    return undefined;
  }
  const parsed = EventIdSchema.safeParse(header);
  if (!parsed.success) {
    throw new InvalidHeaderError(
      'Idempotency-Key',
      'give it once, 1 to 200 printable ASCII characters without spaces',
    );
  }
  return parsed.data;
}

/**
 * Fingerprint of a create request for idempotency: what would be written and by whom. Instants
 * are compared as instants (`Z` and `+00:00` are the same request); `dryRun` and `confirm` are
 * left out, as they change whether a request may run, not what it writes. The principal is in,
 * so that one caller's key replayed by another is a conflict, never the first caller's answer.
 */
function requestSha256(principalId: string, body: CreateRevocation): string {
  return eventSha256({
    principal: principalId,
    reason: body.reason,
    rules: body.rules.map((rule) => ({
      claim: rule.claim,
      value: rule.value,
      iss: rule.iss ?? null,
      revokedBefore:
        typeof rule.revokedBefore === 'string'
          ? Date.parse(rule.revokedBefore)
          : rule.revokedBefore,
    })),
  });
}

/**
 * Fingerprint of a reinstate request for idempotency, by the same rules as a create's: what
 * would be written and by whom, `revokedBefore` as an instant (unclamped: the clamp to the
 * receive time differs between a request and its retry), the rule id in one letter case.
 */
function reinstateSha256(principalId: string, id: string, body: Reinstate): string {
  return eventSha256({
    principal: principalId,
    rule: id.toLowerCase(),
    reason: body.reason,
    revokedBefore: body.revokedBefore === undefined ? null : Date.parse(body.revokedBefore),
  });
}

/**
 * The operator API for rules: create (or dry-run), list, get and reinstate. Transports only:
 * parse, authenticate, call the use case, answer.
 */
@Controller('v1/revocations')
@UseGuards(BearerAuthGuard)
export class RevocationsController {
  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly dryRun: DryRunRevocation,
    private readonly reinstateRule: ReinstateRule,
    private readonly queries: RuleQueries,
    private readonly policy: RulePolicy,
  ) {}

  /**
   * 201 with the versions written, once committed; 200 with the plan for `dryRun: true`.
   * The operator API's own powers (`revoke`, future tokens, no expiry) are checked here, for
   * both; who may revoke which claim (and the blast-radius guard) per rule by the use case.
   */
  @Post()
  @RequirePermission('revoke')
  async create(
    @Req() request: AuthenticatedRequest,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const receivedAt = new Date();
    requireJson(request);
    const input = parseBody(CreateRevocationSchema, body);
    const principal = request.principal!;
    const rules = toRuleSpecs(input.rules, {
      policy: this.policy,
      receivedAtMs: receivedAt.getTime(),
    });
    authorizeOperatorRules(principal, rules, { policy: this.policy, nowMs: receivedAt.getTime() });
    const confirmed = input.confirm === true;

    if (input.dryRun === true) {
      const planned = await this.dryRun.execute({ principal, confirmed, rules });
      const answer: DryRun = {
        dryRun: true,
        rules: planned.map((p) => ({
          key: p.key,
          claim: p.claim,
          value: p.value,
          iss: p.iss,
          revokedBefore: rfc3339OrNull(p.revokedBefore),
          expiresAt: rfc3339OrNull(p.expiresAt),
          effect: p.effect,
          current: p.current === null ? null : toRuleResource(p.current),
        })),
      };
      void reply.status(200).send(answer);
      return;
    }

    const result = await this.recordRevocation.execute({
      source: 'operator',
      eventId: idempotencyKey(request) ?? randomUUID(),
      bodySha256: requestSha256(principal.id, input),
      principal,
      confirmed,
      reason: input.reason,
      occurredAt: receivedAt,
      receivedAt,
      rules,
      traceContext: traceContextOf(request),
    });
    const first = result.rules[0];
    if (!first) {
      throw new Error('a revocation with at least one rule wrote none'); // the schema asks for 1+
    }
    const written = await this.queries.writtenVersions(result.rules);
    const answer: CreatedRevocation = {
      revocationId: first.revocationId,
      seq: first.seq,
      duplicate: result.duplicate,
      rules: written.map(toRuleResource),
    };
    void reply.status(201).header('location', `/v1/revocations/${first.revocationId}`).send(answer);
  }

  /** A principal acting for one issuer lists that issuer's rules only. */
  @Get()
  @RequirePermission('read')
  async list(@Req() request: AuthenticatedRequest, @Query() query: unknown): Promise<RulePage> {
    const { limit, cursor, ...filters } = parseQuery(ListRulesQuerySchema, query);
    const beforeSeq = cursor === undefined ? undefined : decodeCursor('rules', cursor);
    // One more than asked: whether it exists says if there is a next page.
    const found = await this.queries.list(
      readScopeOf(request.principal!),
      filters,
      limit + 1,
      beforeSeq,
    );
    const items = found.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toRuleResource),
      nextCursor: found.length > limit && last ? encodeCursor('rules', last.seq) : null,
    };
  }

  /** 404 also for a rule the principal may not read: its existence is not told either. */
  @Get(':id')
  @RequirePermission('read')
  async get(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<RuleResource> {
    const rule = await this.queries.findById(readScopeOf(request.principal!), id);
    if (!rule) {
      throw new NotFoundError(`no rule with id ${JSON.stringify(id)}`);
    }
    return toRuleResource(rule);
  }

  /**
   * Removes the rule, or lowers its `revokedBefore`: admin only (and, for an admin acting for one
   * issuer, that issuer's rules only: others are 404), audited, published. With an
   * `Idempotency-Key`, a retry gets the version the first request wrote (200 again); without
   * it, a retry after a lost answer finds the rule removed (409), or lowers again a rule that was
   * raised in between.
   */
  @Post(':id/reinstate')
  @HttpCode(200)
  @RequirePermission('reinstate')
  async reinstate(
    @Req() request: AuthenticatedRequest,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<RuleResource> {
    const receivedAt = new Date();
    requireJson(request);
    const input = parseBody(ReinstateSchema, body);
    let lowerTo: number | undefined;
    if (input.revokedBefore !== undefined) {
      const instant = pastInstant(input.revokedBefore, receivedAt.getTime());
      if ('problem' in instant) {
        throw new InvalidEventError([{ pointer: '/revokedBefore', detail: instant.problem }]);
      }
      lowerTo = instant.ms;
    }
    const principal = request.principal!;
    const key = idempotencyKey(request);
    const { rule } = await this.reinstateRule.execute({
      id,
      principal,
      reason: input.reason,
      lowerTo,
      receivedAt,
      idempotency:
        key === undefined ? null : { key, requestSha256: reinstateSha256(principal.id, id, input) },
      traceContext: traceContextOf(request),
    });
    return toRuleResource(rule);
  }
}
