import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type AuthenticatedRequest, BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { traceContextOf } from '../http/trace-context';
import { requireJson } from '../http/validation';
import { eventSha256 } from '../ingest/canonical-json';
import { RecordRevocation } from '../write-path/record-revocation';
import { RulePolicy } from '../write-path/rule-policy';
import { idempotencyKey, parseGlobalRevocationRequest, ruleForSubject } from './global-revocation';

/**
 * OAuth Global Token Revocation (draft-parecki-oauth-global-token-revocation-06): an IdP or a
 * security tool revokes every token of a user. The draft defines no error body, so errors are
 * the writer's RFC 9457 problem details.
 */
@Controller('global-token-revocation')
@UseGuards(BearerAuthGuard)
export class GlobalRevocationController {
  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly policy: RulePolicy,
  ) {}

  /** §3.4.1: 204 once the rule is committed (also for a repeated Idempotency-Key). */
  @Post()
  @HttpCode(204)
  @RequirePermission('global-revoke')
  async revoke(@Req() request: AuthenticatedRequest, @Body() body: unknown): Promise<void> {
    const receivedAt = new Date();
    requireJson(request);
    const subject = parseGlobalRevocationRequest(body);
    const rule = ruleForSubject(subject, this.policy, receivedAt.getTime());
    const principal = request.principal!;
    // Idempotency keys are chosen by each caller: scoped to the caller so that two callers'
    // keys never collide. Without one, every request is a new revocation.
    const key = idempotencyKey(request.headers['idempotency-key']) ?? randomUUID();
    await this.recordRevocation.execute({
      source: 'global',
      eventId: `${principal.id}:${key}`,
      bodySha256: eventSha256({ sub_id: subject }),
      principal,
      confirmed: true, // one user
      reason: `global token revocation (${subject.format})`,
      occurredAt: null,
      receivedAt,
      rules: [rule],
      traceContext: traceContextOf(request),
    });
  }
}
