/**
 * The expiry predicate of `revocation_rule` rows, as SQL: the same edge as `isExpired` in
 * @rescind/rules, which consumers use, so the writer and every enforcement point agree on which
 * rules are gone. A rule whose `expires_at` equals now is expired; a NULL `expires_at` never
 * expires. The writer stores whole milliseconds, so comparing with PostgreSQL's microsecond
 * `now()` decides as `isExpired(expiresAt, Date.now())` would at that instant.
 *
 * Both read the unqualified column `expires_at`; `now()` is the transaction's start time.
 * `test/integration/rule-expiry-sql.spec.ts` checks them against `isExpired` at the boundary.
 */

/** The rule has expired: `isExpired(expiresAt, now)`. */
export const RULE_EXPIRED_SQL = '(expires_at IS NOT NULL AND expires_at <= now())';

/** The rule has not expired: `!isExpired(expiresAt, now)`. */
export const RULE_UNEXPIRED_SQL = '(expires_at IS NULL OR expires_at > now())';
