import { type ExecutionContext, Injectable } from '@nestjs/common';
import {
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { WriterConfig } from '../config/config';
import { SlidingWindowThrottlerStorage } from './rate-limit-storage';

/**
 * The principal bucket is keyed by a hash of the whole presented bearer token, not by the
 * credential id in it: someone who knows an id but not the secret cannot drain that
 * credential's quota. Unauthenticated requests fall back to the client address.
 */
function principalTracker(request: Record<string, unknown>): Promise<string> {
  const req = request as unknown as FastifyRequest;
  const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  return Promise.resolve(
    token
      ? `token:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`
      : `ip:${req.ip}`,
  );
}

/** Two limits on every route: per client address and per presented credential (one minute). */
export function rateLimitOptions(config: WriterConfig): ThrottlerModuleOptions {
  return {
    storage: new SlidingWindowThrottlerStorage(),
    throttlers: [
      { name: 'ip', ttl: 60_000, limit: config.rateLimit.perIpPerMinute },
      {
        name: 'principal',
        ttl: 60_000,
        limit: config.rateLimit.perPrincipalPerMinute,
        getTracker: principalTracker,
      },
    ],
  };
}

/**
 * For `@SkipThrottle(...)` on routes that must never be limited (health probes, metric scrapes):
 * a bare `@SkipThrottle()` skips only a throttler named `default`, and ours are named.
 */
export const ALL_THROTTLERS = { ip: true, principal: true } as const;

/** ThrottlerGuard that also sends the standard Retry-After header with its 429. */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    void context
      .switchToHttp()
      .getResponse<FastifyReply>()
      .header('retry-after', String(Math.max(1, detail.timeToBlockExpire)));
    throw new ThrottlerException(`rate limit exceeded: ${detail.limit} requests per minute`);
  }
}
