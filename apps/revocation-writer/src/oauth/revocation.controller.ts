import { Controller, Header, HttpCode, Logger, Post, Req, UseFilters } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CredentialsRepository, type OAuthClient } from '../auth/credentials.repository';
import { InjectConfig, type WriterConfig } from '../config/config';
import { traceContextOf } from '../http/trace-context';
import { RecordRevocation } from '../write-path/record-revocation';
import type { RuleSpecUnlessInForce } from '../write-path/revocation-command';
import { RulePolicy } from '../write-path/rule-policy';
import { clientCredentialsOf } from './client-credentials';
import { type FormParameters, formParameters, requiredParameter } from './form-parameters';
import { invalidClient, OAuthError } from './oauth-error';
import { OAuthExceptionFilter } from './oauth-exception.filter';
import {
  minimumForJwt,
  minimumForOpaqueToken,
  type RevocationScope,
  revocationRuleForJwt,
  revocationRuleForOpaqueToken,
  refreshTokenRule,
} from './revocation-rules';
import { clientIssuer, tokenOwnership } from './token-ownership';
import {
  IdentityProviderClient,
  UpstreamError,
  type UpstreamIssuer,
} from '../upstream/identity-provider.client';
import { decodeJwtPayload, TokenVerifier, tokenSha256, type VerifiedJwt } from './token-verifier';

/** RFC 7009 token revocation for registered OAuth clients. */
@Controller('oauth')
@UseFilters(OAuthExceptionFilter)
export class RevocationController {
  private readonly logger = new Logger(RevocationController.name);
  private readonly trustedIssuers: readonly string[];

  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly verifier: TokenVerifier,
    private readonly recordRevocation: RecordRevocation,
    private readonly policy: RulePolicy,
    @InjectConfig('issuers') private readonly issuers: WriterConfig['issuers'],
    @InjectConfig('oauth') private readonly oauth: WriterConfig['oauth'],
    private readonly idp: IdentityProviderClient,
  ) {
    this.trustedIssuers = issuers.map((i) => i.issuer);
  }

  /**
   * §2.1 revocation request, §2.2 response: 200 with an empty body once the rule is committed,
   * and also for a token that is unknown, invalid, expired or already revoked, so a caller
   * learns nothing about tokens it does not hold.
   */
  @Post('revoke')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async revoke(@Req() request: FastifyRequest): Promise<void> {
    const receivedAt = new Date();
    const parameters = formParameters(request.headers['content-type'], request.body);
    const client = await this.authenticateClient(request.headers.authorization, parameters);
    const token = requiredParameter(parameters, 'token');
    // §2.1 token_type_hint only helps a server find the token. A JWT says what it is; an opaque
    // token goes to the issuer's IdP when it has upstream endpoints (a refresh token, or an opaque
    // access token it knows), else it is revoked by its hash, except one hinted as a refresh
    // token: a hash rule would never meet it at a gateway. Unknown hints are ignored.
    const hash = tokenSha256(token).base64url;
    const hint = parameters.token_type_hint;

    if (this.decodeToken(token) === 'opaque') {
      const upstream = this.upstreamOf(client);
      if (upstream !== undefined) {
        return this.revokeRefreshToken(client, upstream, token, receivedAt, request);
      }
      if (hint === 'refresh_token') {
        throw new OAuthError(
          'unsupported_token_type',
          "refresh tokens are revoked at their identity provider: the client's issuer has no upstream revocationEndpoint configured",
        );
      }
      return this.revokeOpaqueToken(client, hash, receivedAt, request);
    }
    const jwt = await this.verifyToken(token);
    if (jwt === undefined) {
      return; // §2.2: an invalid token is not an error; nothing is written
    }
    this.checkOwnership(jwt, client);
    const nowMs = receivedAt.getTime();
    const { scope, rule } = revocationRuleForJwt(jwt.payload, hash, this.policy, nowMs);
    const minimum = minimumForJwt(jwt.payload, hash, this.policy, nowMs);
    await this.revokeSessionOrToken(client, { ...rule, minimum }, scope, receivedAt, request);
  }

  /** The client's issuer, when it has the upstream endpoints to revoke refresh tokens at. */
  private upstreamOf(client: OAuthClient): UpstreamIssuer | undefined {
    const iss = clientIssuer(client, this.trustedIssuers);
    const issuer = this.issuers.find((i) => i.issuer === iss);
    return issuer?.upstream?.revocationEndpoint !== undefined
      ? { issuer: issuer.issuer, upstream: issuer.upstream }
      : undefined;
  }

  /**
   * A refresh token (opaque to us): who holds it is learned from the IdP (RFC 7662), its session
   * (or subject) is revoked here, then the token at the IdP (RFC 7009). The 200 comes after
   * both; an IdP that cannot be reached is 503, never a false 200 (the rule, if committed, stays:
   * retrying is safe). A token the IdP calls inactive is 200 with nothing written (§2.2).
   */
  private async revokeRefreshToken(
    client: OAuthClient,
    issuer: UpstreamIssuer,
    token: string,
    receivedAt: Date,
    request: FastifyRequest,
  ): Promise<void> {
    const introspection = await this.upstream(() => this.idp.introspect(issuer, token));
    if (!introspection.active) {
      return;
    }
    if (introspection.client_id !== client.clientId) {
      throw new OAuthError('unauthorized_client', 'the token was not issued to this client');
    }
    const nowMs = receivedAt.getTime();
    const rule = refreshTokenRule(introspection, issuer.issuer, this.policy, nowMs);
    if (rule !== undefined) {
      await this.revokeSessionOrToken(
        client,
        { ...rule.rule, minimum: rule.minimum },
        rule.scope,
        receivedAt,
        request,
      );
    }
    await this.upstream(() => this.idp.revoke(issuer, token));
    this.logger.log(
      `RFC 7009: client ${client.clientId} revoked a refresh token at ${issuer.issuer} (${rule?.scope ?? 'no session or subject known'})`,
    );
  }

  /** An upstream call's failure as RFC 7009 §2.2.1's 503: retry later. */
  private async upstream<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UpstreamError) {
        throw new OAuthError(
          'temporarily_unavailable',
          'the identity provider cannot be reached to revoke the refresh token; retry later',
          503,
        );
      }
      throw error;
    }
  }

  /** §2.1: the server first validates the client credentials; failing that, 401 whatever the token. */
  private async authenticateClient(
    authorization: string | undefined,
    parameters: FormParameters,
  ): Promise<OAuthClient> {
    const { clientId, clientSecret } = clientCredentialsOf(authorization, parameters);
    const client = await this.credentials.authenticateClient(clientId, clientSecret);
    if (client === undefined) {
      throw invalidClient('client authentication failed');
    }
    return client;
  }

  private decodeToken(token: string): 'jwt' | 'opaque' {
    return decodeJwtPayload(token) === undefined ? 'opaque' : 'jwt';
  }

  /**
   * The token's issuer must have signed it: a forged token revokes nobody's session. Expired
   * tokens need no revocation. A genuine token that is not valid yet is revoked all the same.
   */
  private async verifyToken(token: string): Promise<VerifiedJwt | undefined> {
    const verification = await this.verifier.verify(token);
    switch (verification.status) {
      case 'valid':
      case 'premature':
        return verification.jwt;
      case 'expired':
      case 'invalid':
        return undefined;
      case 'unavailable':
        // Answering 200 would claim a revocation that did not happen: §2.2.1's 503, retry later.
        this.logger.warn(`cannot verify a token: ${verification.reason}`);
        throw new OAuthError(
          'temporarily_unavailable',
          "the token issuer's keys cannot be fetched; retry later",
          503,
        );
    }
  }

  /**
   * §2.1: the server verifies that the token was issued to the client making the request, and
   * refuses otherwise (§2.2.1 unauthorized_client). Issued to it means by the client's issuer
   * and to its id: a client id is unique only per issuer, so the same id in another trusted
   * issuer's token is another client. A token naming no client fails the check.
   */
  private checkOwnership(jwt: VerifiedJwt, client: OAuthClient): void {
    const ownership = tokenOwnership(jwt.payload, client, this.trustedIssuers);
    if (ownership === 'owned') {
      return;
    }
    if (ownership === 'unbound') {
      this.logger.warn(
        `OAuth client ${client.clientId} names no issuer and several are trusted: it can revoke no JWT until it is bound (rescind-admin client bind)`,
      );
    }
    throw new OAuthError('unauthorized_client', 'the token was not issued to this client');
  }

  /**
   * §2.2.1 unsupported_token_type unless opaque tokens are enabled. Whom an opaque token was
   * issued to cannot be checked: holding it is enough, and revoking is the safe direction.
   */
  private async revokeOpaqueToken(
    client: OAuthClient,
    hash: string,
    receivedAt: Date,
    request: FastifyRequest,
  ): Promise<void> {
    if (!this.oauth.opaqueTokens) {
      throw new OAuthError('unsupported_token_type', 'only JWTs can be revoked here');
    }
    const nowMs = receivedAt.getTime();
    const rule = {
      ...revocationRuleForOpaqueToken(hash, this.policy, nowMs),
      minimum: minimumForOpaqueToken(nowMs),
    };
    await this.revokeSessionOrToken(client, rule, 'token hash', receivedAt, request);
  }

  /**
   * Answers once the rule, its audit record and its outbox message are committed, or once it is
   * clear that the rule in force already revokes the token (§2.2: 200 for a revoked token).
   */
  private async revokeSessionOrToken(
    client: OAuthClient,
    rule: RuleSpecUnlessInForce,
    scope: RevocationScope,
    receivedAt: Date,
    request: FastifyRequest,
  ): Promise<void> {
    await this.recordRevocation.execute({
      source: 'oauth',
      // Revocation is idempotent in effect, not by request: no event id. The same token again
      // writes nothing while its rule is in force, and revokes again once an operator
      // reinstated it.
      eventId: null,
      // Clients act with the IdP's scopes (sid, jti, token_hash), and only on their own tokens.
      principal: { id: `oauth-client:${client.clientId}`, name: client.name, role: 'idp' },
      confirmed: true, // one session or one token: nothing broad
      reason: `RFC 7009: client ${client.clientId} revoked a ${scope}`,
      occurredAt: null,
      receivedAt,
      rules: [rule],
      traceContext: traceContextOf(request),
    });
  }
}
