import {
  Controller,
  Header,
  HttpCode,
  Logger,
  Post,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { DenyList } from '@rescind/rules';
import { type AuthenticatedRequest, BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { invalidationEventFor } from '../write-path/rule-events';
import { RulePolicy } from '../write-path/rule-policy';
import { DenyListMirror } from '../snapshot/deny-list-mirror';
import { LocalCommits } from '../write-path/local-commits';
import { ActiveRulesRepository } from './active-rules.repository';
import { formParameters, requiredParameter } from './form-parameters';
import {
  type ActiveIntrospection,
  candidateRuleKeys,
  claimsToCheck,
  INACTIVE,
  introspectionResponse,
  withinIssuerLifetime,
} from './introspection';
import { OAuthError } from './oauth-error';
import { OAuthExceptionFilter } from './oauth-exception.filter';
import { TokenVerifier, tokenSha256, type VerifiedJwt } from './token-verifier';

/**
 * RFC 7662 token introspection for enforcement points that still check centrally. Callers are
 * protected resources with an API credential holding `introspect` (§2.1: the endpoint MUST
 * require authorization). The answer is fresh: from the writer's deny-list mirror once it holds
 * everything this writer committed, else from PostgreSQL (`isRevoked`).
 */
@Controller('oauth')
@UseFilters(OAuthExceptionFilter)
export class IntrospectionController {
  private readonly logger = new Logger(IntrospectionController.name);

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly rules: ActiveRulesRepository,
    private readonly policy: RulePolicy,
    private readonly mirror: DenyListMirror,
    private readonly localCommits: LocalCommits,
  ) {}

  /** §2.2: `{"active": false}` and nothing else for any token that is not active, whatever the reason. */
  @Post('introspect')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @UseGuards(BearerAuthGuard)
  @RequirePermission('introspect')
  async introspect(
    @Req() request: AuthenticatedRequest,
  ): Promise<ActiveIntrospection | typeof INACTIVE> {
    const parameters = formParameters(request.headers['content-type'], request.body);
    const token = requiredParameter(parameters, 'token');
    // token_type_hint is ignored as at revocation. Opaque tokens are never active: Rescind does
    // not issue them, so it cannot know they are valid, only that they were revoked.
    const sha256 = tokenSha256(token).base64url;
    const verification = await this.verifier.verify(token, sha256);
    if (verification.status === 'unavailable') {
      this.logger.warn(`cannot verify a token: ${verification.reason}`);
      throw new OAuthError(
        'temporarily_unavailable',
        "the token issuer's keys cannot be fetched; retry later",
        503,
      );
    }
    if (verification.status !== 'valid' || !withinIssuerLifetime(verification.jwt)) {
      return INACTIVE;
    }
    // A credential bound to one issuer learns nothing of other issuers' tokens. §2.2 lets the
    // server answer inactive to a protected resource that may not know about the token.
    const bound = request.principal?.issuer;
    if (bound !== undefined && bound !== verification.jwt.issuer.issuer) {
      return INACTIVE;
    }
    if (await this.isRevoked(verification.jwt, sha256)) {
      return INACTIVE;
    }
    return introspectionResponse(verification.jwt);
  }

  /**
   * The consumers' own decision, `check(claims)`. Asked of the writer's deny-list mirror (no
   * PostgreSQL read) when the mirror is caught up, not stale, and has applied every change this
   * writer committed to a key that could match the token (`LocalCommits`); else of a DenyList of every active rule that could match the token, read from
   * PostgreSQL now. So an answer never misses what this writer acknowledged, and another
   * writer's change is missed for no longer than an enforcement point would miss it.
   */
  private async isRevoked(jwt: VerifiedJwt, tokenHash: string): Promise<boolean> {
    const claims = claimsToCheck(jwt, tokenHash);
    const keys = candidateRuleKeys(claims, this.policy.allowedClaims);
    const mirror = this.mirror.ready;
    if (mirror !== undefined && !mirror.brief().stale && this.localCommits.settled(keys)) {
      return mirror.check(claims).revoked;
    }
    const list = new DenyList();
    for (const rule of await this.rules.findActive(keys)) {
      list.apply(invalidationEventFor(rule, rule.updatedAt));
    }
    return list.check(claims).revoked;
  }
}
