import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { InjectConfig, type WriterConfig } from '../config/config';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { CredentialsRepository } from './credentials.repository';
import { hasPermission, type Permission, type Principal } from './permissions';

/** A request whose caller was authenticated by {@link BearerAuthGuard}. */
export interface AuthenticatedRequest extends FastifyRequest {
  principal?: Principal;
}

/** The permission an endpoint needs (checked by the guard after authentication). */
export const RequirePermission = (permission: Permission) =>
  SetMetadata(PERMISSION_KEY, permission);
const PERMISSION_KEY = 'rescind:permission';

/** Principal of the legacy shared ingest token (INGEST_BEARER_TOKEN): the `hr` role. */
const SHARED_INGEST_PRINCIPAL: Principal = {
  id: 'ingest-bearer-token',
  name: 'shared ingest token',
  role: 'hr',
};
const AUTH_DISABLED_PRINCIPAL: Principal = {
  id: 'anonymous',
  name: 'anonymous (INGEST_AUTH_DISABLED)',
  role: 'hr',
};

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Authenticates `Authorization: Bearer <token>`: an API credential (`rsk_…`), or the shared
 * ingest token, which stands for the `hr` role. Then checks the endpoint's permission, if any.
 * 401 when unauthenticated, 403 when the role lacks the permission.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly sharedToken: Buffer | null;

  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly reflector: Reflector,
    @InjectConfig('ingest') private readonly ingest: WriterConfig['ingest'],
  ) {
    this.sharedToken = ingest.sharedToken === null ? null : digest(ingest.sharedToken);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = await this.authenticate(request.headers.authorization);
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (permission !== undefined && !hasPermission(request.principal, permission)) {
      throw new ForbiddenError(
        `role "${request.principal.role}" lacks the "${permission}" permission`,
      );
    }
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    const token = /^Bearer ([\x21-\x7e]+)$/i.exec(header ?? '')?.[1];
    if (token === undefined) {
      if (this.ingest.authDisabled) {
        return AUTH_DISABLED_PRINCIPAL;
      }
      throw new UnauthenticatedError();
    }
    if (token.startsWith('rsk_')) {
      // PostgreSQL down propagates as such: a 503 (problem filter), never a 401.
      const principal = await this.credentials.authenticate(token);
      if (principal) {
        return principal;
      }
      throw new UnauthenticatedError('unknown, disabled or malformed API credential');
    }
    if (this.sharedToken !== null && timingSafeEqual(digest(token), this.sharedToken)) {
      return SHARED_INGEST_PRINCIPAL;
    }
    throw new UnauthenticatedError();
  }
}
