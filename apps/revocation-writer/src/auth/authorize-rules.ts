import { ConfirmationRequiredError, ForbiddenError } from '../errors';
import type { RuleSpec } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';
import {
  hasPermission,
  mayRevoke,
  type OperatorPower,
  operatorPowersFor,
  type Principal,
} from './permissions';

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

/** Why `rule` needs `power`, for the 403 that names it. */
function whyItNeeds(power: OperatorPower, rule: RuleSpec): string {
  switch (power) {
    case 'revoke:future-tokens':
      return 'has revokedBefore null: it also revokes tokens issued after this request';
    case 'revoke:permanent':
      return rule.expiresAt === null
        ? 'would never expire (revokedBefore null on a claim new tokens can carry): a ban without end'
        : `would revoke tokens issued later until ${new Date(rule.expiresAt).toISOString()}, longer than one max token lifetime`;
  }
}

/**
 * What the operator API (`POST /v1/revocations`, dry runs included) asks beyond
 * {@link authorizeRules}: the `revoke` permission, and per rule the powers its
 * `revokedBefore`/`expiresAt` call for ({@link operatorPowersFor}). Checked on the rules as the
 * request asked for them, before {@link scopeToPrincipal} (which changes neither instant). The
 * 403 names the missing permission and the rule, as a JSON Pointer into the request body.
 */
export function authorizeOperatorRules(
  principal: Principal,
  rules: readonly RuleSpec[],
  options: { policy: RulePolicy; nowMs: number },
): void {
  if (!hasPermission(principal, 'revoke')) {
    throw new ForbiddenError(
      `role "${principal.role}" lacks the "revoke" permission of the operator API; event sources revoke through their event endpoints`,
    );
  }
  rules.forEach((rule, i) => {
    // A session's rule lasts as long as the session can mint: that is its default, not a ban.
    const tokenMs = options.policy.maxLifetimeMs(rule.iss);
    const powers = operatorPowersFor(rule, {
      nowMs: options.nowMs,
      maxLifetimeMs:
        rule.claim === 'sid' ? options.policy.grantLifetimeMs(rule.iss) + tokenMs : tokenMs,
    });
    for (const power of powers) {
      if (!hasPermission(principal, power)) {
        throw new ForbiddenError(
          `role "${principal.role}" lacks the "${power}" permission: the rule at /rules/${i} (${rule.claim}) ${whyItNeeds(power, rule)}; give a past revokedBefore (absent: the time of the request) or ask an admin`,
        );
      }
    }
  });
}
