import { ConfirmationRequiredError, ForbiddenError } from '../errors';
import type { RuleSpec } from '../rules/rule';
import type { RulePolicy } from '../rules/rule-policy';
import { hasPermission, mayRevoke, type Principal } from './permissions';

/**
 * The rules a principal acting for one issuer (`principal.issuer`) may write: each restricted to
 * that issuer. An issuer-independent rule becomes its issuer's (an HR system of one IdP names
 * users without saying which IdP); a rule of another issuer is refused. Other principals' rules
 * are returned as they are. Every way of writing rules goes through this before
 * {@link authorizeRules}, dry runs included.
 */
export function scopeToPrincipal<R extends RuleSpec>(
  principal: Principal,
  rules: readonly R[],
): R[] {
  const { issuer } = principal;
  if (issuer === undefined) {
    return [...rules];
  }
  return rules.map((rule) => {
    if (rule.iss !== null && rule.iss !== issuer) {
      throw new ForbiddenError(
        `this credential acts for issuer "${issuer}" and may not revoke tokens of "${rule.iss}"`,
      );
    }
    // An issuer-independent rule's expiry was computed for the longest token lifetime of every
    // issuer (RulePolicy.maxLifetimeMs), so it already outlives every token of this one.
    return { ...rule, iss: issuer };
  });
}

/**
 * The blast-radius guard and per-scope authorization, for every way rules get written.
 * - each rule's claim must be one the principal's role may revoke;
 * - a broad claim (issuer, key, tenant: many users at once) needs `confirmed`;
 * - more rules than `bulkThreshold` in one request need `confirmed` and the `bulk` permission.
 */
export function authorizeRules(
  principal: Principal,
  rules: readonly RuleSpec[],
  options: { confirmed: boolean; policy: RulePolicy; bulkThreshold: number },
): void {
  for (const rule of rules) {
    const broad = options.policy.isBroad(rule.claim);
    if (!mayRevoke(principal, rule.claim, broad)) {
      throw new ForbiddenError(`role "${principal.role}" may not revoke on claim "${rule.claim}"`);
    }
    if (broad && !options.confirmed) {
      throw new ConfirmationRequiredError(
        `a rule on "${rule.claim}" can revoke many users at once; repeat the request with "confirm": true`,
      );
    }
  }
  if (rules.length > options.bulkThreshold) {
    if (!hasPermission(principal, 'bulk')) {
      throw new ForbiddenError(
        `${rules.length} rules in one request exceed ${options.bulkThreshold}; only the admin role may do that`,
      );
    }
    if (!options.confirmed) {
      throw new ConfirmationRequiredError(
        `${rules.length} rules in one request exceed ${options.bulkThreshold}; repeat with "confirm": true`,
      );
    }
  }
}
