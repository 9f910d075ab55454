import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { IdempotencyConflictError, RescindError } from '../errors';
import { eventSha256 } from '../ingest/canonical-json';
import { RecordRevocation } from '../ingest/record-revocation';
import { traceContextOf } from '../http/trace-context';
import { RulePolicy } from '../rules/rule-policy';
import { mapSecurityEvents } from './set-event.mapper';
import { SetRejectedError, SetVerifier } from './set-verifier';

/**
 * OpenID Shared Signals receiver: RFC 8935 push delivery of RFC 8417 Security Event Tokens.
 * The SET's signature authenticates the transmitter; it is persisted before the 202.
 */
@Controller('ssf')
@SkipThrottle({ principal: true })
export class SsfController {
  private readonly verifier: SetVerifier;

  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly policy: RulePolicy,
    @Inject(WRITER_CONFIG) config: WriterConfig,
  ) {
    this.verifier = new SetVerifier(config.sources.transmitters);
  }

  @Post('events')
  @HttpCode(202)
  async push(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const receivedAt = new Date();
    try {
      // RFC 8935 §2: the body is the SET itself, as application/secevent+jwt.
      if (
        request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !==
        'application/secevent+jwt'
      ) {
        throw new SetRejectedError(
          'invalid_request',
          'Content-Type must be application/secevent+jwt',
        );
      }
      const token = typeof body === 'string' ? body.trim() : '';
      const { transmitter, payload } = await this.verifier.verify(token);
      const mapped = mapSecurityEvents(
        payload.events,
        payload.sub_id,
        receivedAt.getTime(),
        this.policy,
      );
      const result = await this.recordRevocation.execute({
        source: 'ssf',
        // RFC 8417 §2.2: jti is unique per issuer: the transmitter's idempotency key.
        eventId: `${transmitter.issuer}#${payload.jti}`,
        bodySha256: eventSha256(payload),
        principal: {
          id: `ssf:${transmitter.issuer}`,
          name: `SSF transmitter ${transmitter.issuer}`,
          role: 'idp',
        },
        confirmed: true,
        reason: mapped.reason,
        occurredAt: typeof payload.iat === 'number' ? new Date(payload.iat * 1000) : null,
        receivedAt,
        rules: mapped.rules,
        traceContext: traceContextOf(request),
      });
      if (result.duplicate) {
        throw new SetRejectedError('invalid_request', `SET ${payload.jti} was already received`);
      }
      return undefined;
    } catch (error) {
      const rejected = toRejection(error);
      if (!rejected) {
        throw error; // 503 (store unavailable) and 500 stay problem+json: the transmitter retries
      }
      void reply.status(400).header('content-type', 'application/json');
      return { err: rejected.err, description: rejected.description };
    }
  }
}

function toRejection(error: unknown): SetRejectedError | undefined {
  if (error instanceof SetRejectedError) {
    return error;
  }
  if (error instanceof IdempotencyConflictError) {
    return new SetRejectedError(
      'invalid_request',
      'a different SET with this jti was already received',
    );
  }
  if (error instanceof RescindError && error.status === 403) {
    return new SetRejectedError('access_denied', error.message);
  }
  if (error instanceof RescindError && !error.retriable && error.status < 500) {
    return new SetRejectedError('invalid_request', error.message);
  }
  return undefined;
}
