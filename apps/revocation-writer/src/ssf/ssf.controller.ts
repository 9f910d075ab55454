import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { traceContextOf } from '../http/trace-context';
import { ReceiveSet } from './receive-set';
import { SetRejectedError } from './set-verifier';

/**
 * OpenID Shared Signals receiver: RFC 8935 push delivery of RFC 8417 Security Event Tokens.
 * The SET's signature authenticates the transmitter; it is persisted before the 202.
 */
@Controller('ssf')
@SkipThrottle({ principal: true })
export class SsfController {
  constructor(private readonly receiveSet: ReceiveSet) {}

  @Post('events')
  @HttpCode(202)
  async push(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const receivedAt = new Date();
    try {
      assertSecEventJwt(request);
      const token = typeof body === 'string' ? body.trim() : '';
      const received = await this.receiveSet.execute(token, {
        receivedAt,
        traceContext: traceContextOf(request),
      });
      if (received.duplicate) {
        // Push refuses a replay; poll delivery acknowledges it instead (see ReceiveSet).
        throw new SetRejectedError('invalid_request', `SET ${received.jti} was already received`);
      }
      return undefined;
    } catch (error) {
      if (!(error instanceof SetRejectedError)) {
        throw error; // 503 (store unavailable) and 500 stay problem+json: the transmitter retries
      }
      void reply.status(400).header('content-type', 'application/json');
      return { err: error.err, description: error.description };
    }
  }
}

/** RFC 8935 §2: the body is the SET itself, as application/secevent+jwt. */
function assertSecEventJwt(request: FastifyRequest): void {
  if (
    request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !==
    'application/secevent+jwt'
  ) {
    throw new SetRejectedError('invalid_request', 'Content-Type must be application/secevent+jwt');
  }
}
