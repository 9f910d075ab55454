import { STANDARD_RULE_CLAIMS } from '@rescind/contracts';
import { ruleExpiresAt } from '@rescind/rules';
import type { WriterConfig } from '../config/config';

/**
 * What the configuration says about rules: which claims they may match, which claims are broad
 * (can hit many users at once), and each issuer's longest token lifetime. Plain TypeScript.
 */
export class RulePolicy {
  private readonly claims: ReadonlySet<string>;
  private readonly broad: ReadonlySet<string>;
  private readonly lifetimes: ReadonlyMap<string, number>;
  private readonly longestLifetimeMs: number;

  constructor(config: Pick<WriterConfig, 'rules' | 'issuers'>) {
    this.claims = new Set<string>([...STANDARD_RULE_CLAIMS, ...config.rules.customClaims]);
    this.broad = new Set(config.rules.broadClaims);
    this.lifetimes = new Map(
      config.issuers.map((i) => [i.issuer, i.maxTokenLifetimeSeconds * 1000]),
    );
    this.longestLifetimeMs = Math.max(config.rules.maxTokenLifetimeMs, ...this.lifetimes.values());
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
    return ruleExpiresAt({
      claim: rule.claim,
      revokedBefore: rule.revokedBefore,
      maxLifetimeMs: this.maxLifetimeMs(rule.iss),
      nowMs,
      tokenExpiresAtMs,
    });
  }
}
