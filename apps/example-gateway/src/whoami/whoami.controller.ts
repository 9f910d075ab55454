import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import type { TokenClaims } from '@rescind/revocation-consumer';
import { RevocationGuard } from '@rescind/revocation-consumer/nest';
import { type AuthenticatedRequest, JwtAuthGuard } from '../auth/jwt-auth.guard';

/** The demo resource: authenticated (signature first), then checked against the deny-list. */
@Controller('api')
@UseGuards(JwtAuthGuard, RevocationGuard)
export class WhoamiController {
  /** The verified claims of the caller's token. */
  @Get('whoami')
  whoami(@Req() request: AuthenticatedRequest): TokenClaims | undefined {
    return request.user;
  }
}
