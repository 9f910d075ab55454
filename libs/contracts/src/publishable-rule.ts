import { type RuleV1, RuleV1Schema } from './invalidation';
import { ruleKeyLengthProblem } from './rule-key';

/** One reason a rule cannot be published, and the member of the rule at fault. */
export interface RuleProblem {
  field: keyof RuleV1;
  detail: string;
  /** Set when the problem is the key's length: how many characters it has. */
  keyLength?: number;
}

const FIELDS: ReadonlySet<string> = new Set(Object.keys(RuleV1Schema.shape));

/**
 * Why enforcement points could not apply `rule`, or `[]` when it is publishable: every
 * {@link RuleV1Schema} violation, and a key longer than `MAX_RULE_KEY_LENGTH` (named on the
 * longer of `value` and `iss`). A writer checks each rule with this before it acknowledges
 * anything, so that what it acknowledges is what every consumer can apply.
 *
 * @example
 * publishingProblems({ claim: 'sub', value: 'a\u0000b', iss: null, revokedBefore: 0, expiresAt: null })
 * // [{ field: 'value', detail: 'must not contain U+0000 (NUL, at index 1): PostgreSQL cannot store it' }]
 */
export function publishingProblems(rule: RuleV1): RuleProblem[] {
  const parsed = RuleV1Schema.safeParse(rule);
  const problems: RuleProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const field = String(issue.path[0] ?? 'value');
        return {
          field: (FIELDS.has(field) ? field : 'value') as keyof RuleV1,
          detail: issue.message,
        };
      });
  const tooLong = ruleKeyLengthProblem(rule);
  if (tooLong !== undefined) {
    problems.push({ field: tooLong.field, detail: tooLong.detail, keyLength: tooLong.length });
  }
  return problems;
}
