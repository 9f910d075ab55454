import { STANDARD_RULE_CLAIMS } from '@rescind/contracts';
import { ruleExpiresAt } from '@rescind/rules';
import type { WriterConfig } from '../config/config';
import type { RuleSpec } from './stored-rule';

/**
 * What the configuration says about rules: which claims they may match, which claims are broad
 * (can hit many users at once), and each issuer's longest token lifetime. Plain TypeScript.
 */
export class RulePolicy {
  private readonly claims: ReadonlySet<string>;
  private readonly broad: ReadonlySet<string>;
  private readonly lifetimes: ReadonlyMap<string, number>;
  private readonly longestLifetimeMs: number;
  private readonly grants: ReadonlyMap<string, { lifetimeMs: number; authTime: boolean }>;
  private readonly longestGrantMs: number;
  private readonly everyIssuerCarriesAuthTime: boolean;

  constructor(config: Pick<WriterConfig, 'rules' | 'issuers'>) {
    this.claims = new Set<string>([...STANDARD_RULE_CLAIMS, ...config.rules.customClaims]);
    this.broad = new Set(config.rules.broadClaims);
    this.lifetimes = new Map(
      config.issuers.map((i) => [i.issuer, i.maxTokenLifetimeSeconds * 1000]),
    );
    this.longestLifetimeMs = Math.max(config.rules.maxTokenLifetimeMs, ...this.lifetimes.values());
    this.grants = new Map(
      config.issuers.map((i) => [
        i.issuer,
        {
          lifetimeMs: Math.max(i.sessionLifetimeSeconds, i.refreshTokenLifetimeSeconds) * 1000,
          authTime: i.tokenClaims.includes('auth_time'),
        },
      ]),
    );
    this.longestGrantMs = Math.max(
      config.rules.maxGrantLifetimeMs,
      ...[...this.grants.values()].map((g) => g.lifetimeMs),
    );
    this.everyIssuerCarriesAuthTime =
      config.issuers.length > 0 && config.issuers.every((i) => i.tokenClaims.includes('auth_time'));
  }

  /**
   * Longest time a grant (a session, or a refresh token kept alive by rotation) can go on minting
   * tokens: the issuer's session or refresh-token lifetime, whichever is longer, for a listed
   * issuer; otherwise the longest of all, `MAX_GRANT_LIFETIME_SECONDS` included.
   */
  grantLifetimeMs(iss: string | null): number {
    return (iss !== null ? this.grants.get(iss)?.lifetimeMs : undefined) ?? this.longestGrantMs;
  }

  /**
   * Do the tokens a rule on `iss` can match carry `auth_time`, kept across refreshes? Only when
   * the issuer says so in `ISSUERS`; for a rule on any issuer, only when every listed issuer does.
   */
  carriesAuthTime(iss: string | null): boolean {
    return iss === null ? this.everyIssuerCarriesAuthTime : this.grants.get(iss)?.authTime === true;
  }

  /**
   * A revocation of everything of a subject (or client) that also covers what its earlier grants
   * can still mint (docs/adr/0009-revocations-that-outlive-grants.md):
   * - tokens with `auth_time`: every token authenticated before now, for as long as a grant from
   *   before now can mint (grant lifetime) and what it minted last can live (token lifetime). A
   *   new login is accepted.
   * - otherwise nothing tells a new login from an old grant: every token issued before
   *   now + grant lifetime is revoked, new logins included, and the rule lasts one token lifetime
   *   more.
   */
  grantWide(
    identity: Pick<RuleSpec, 'claim' | 'value' | 'iss' | 'origin'>,
    nowMs: number,
  ): RuleSpec {
    const grantMs = this.grantLifetimeMs(identity.iss);
    const tokenMs = this.maxLifetimeMs(identity.iss);
    return this.carriesAuthTime(identity.iss)
      ? {
          ...identity,
          revokedBefore: nowMs,
          cutoff: 'auth_time',
          expiresAt: nowMs + grantMs + tokenMs,
          grantWide: true,
        }
      : {
          ...identity,
          revokedBefore: nowMs + grantMs,
          expiresAt: nowMs + grantMs + tokenMs,
          grantWide: true,
        };
  }

  /**
   * Every token of the subject, new logins included, until the rule is reinstated (an HR
   * termination: it must not depend on the IdP being deprovisioned in time).
   */
  untilReinstated(identity: Pick<RuleSpec, 'claim' | 'value' | 'iss' | 'origin'>): RuleSpec {
    return { ...identity, revokedBefore: null, expiresAt: null, grantWide: true };
  }

  /** Every claim a rule may match. */
  get allowedClaims(): ReadonlySet<string> {
    return this.claims;
  }

  isAllowedClaim(claim: string): boolean {
    return this.claims.has(claim);
  }

  /** A rule on this claim can revoke many users at once (an issuer, a key, a tenant). */
  isBroad(claim: string): boolean {
    return this.broad.has(claim);
  }

  /**
   * Longest lifetime of a token the rule can match: the issuer's own when the rule is restricted
   * to a configured issuer, otherwise the longest of all (a rule for any issuer must outlive
   * the longest-lived token of every issuer).
   */
  maxLifetimeMs(iss: string | null): number {
    return (iss !== null ? this.lifetimes.get(iss) : undefined) ?? this.longestLifetimeMs;
  }

  expiresAt(
    rule: { claim: string; iss: string | null; revokedBefore: number | null },
    nowMs: number,
    tokenExpiresAtMs?: number,
  ): number | null {
    if (rule.claim === 'sid' && rule.revokedBefore === null) {
      // A session mints tokens for as long as it lives, long after the token that named it.
      const sessionEnd = nowMs + this.grantLifetimeMs(rule.iss) + this.maxLifetimeMs(rule.iss);
      return Math.max(sessionEnd, tokenExpiresAtMs ?? 0);
    }
    return ruleExpiresAt({
      claim: rule.claim,
      revokedBefore: rule.revokedBefore,
      maxLifetimeMs: this.maxLifetimeMs(rule.iss),
      nowMs,
      tokenExpiresAtMs,
    });
  }
}
