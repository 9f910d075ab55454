import { publishingProblems, type RuleProblem } from '@rescind/contracts';
import { type FieldProblem, InvalidEventError } from '../errors';
import type { RuleSpec } from './stored-rule';

/**
 * Refuses, before anything is written, rules that enforcement points could not apply: each must
 * satisfy the invalidation contract's rule (`RuleV1Schema`: text stored exactly as sent, lengths)
 * and its key must fit `MAX_RULE_KEY_LENGTH` (which also keeps it within PostgreSQL's btree
 * limit). One 422 `invalid_event` names every offending member of the input, through each rule's
 * `origin` (or `/rules/<index>/...`, the operator API's shape). Over Kafka that is a dead letter at
 * the first attempt. Runs on the rules as they will be written (after scoping to the principal's
 * issuer), in every use case that raises rules.
 *
 * @example
 * assertPublishable([{ claim: 'sub', value: '漢'.repeat(1024), iss: null, revokedBefore: 0, expiresAt: null }]);
 * // throws InvalidEventError: /rules/0/value encodes to a rule key of 9,221 characters; the limit is 2,048
 */
export function assertPublishable(rules: readonly RuleSpec[]): void {
  const problems: FieldProblem[] = [];
  rules.forEach((rule, i) => {
    for (const problem of publishingProblems(rule)) {
      problems.push(locate(rule, i, problem));
    }
  });
  if (problems.length > 0) {
    throw new InvalidEventError(problems);
  }
}

/** The problem at the input member its field came from. */
function locate(
  rule: RuleSpec,
  index: number,
  { field, detail, keyLength }: RuleProblem,
): FieldProblem {
  const { origin } = rule;
  if (origin === undefined) {
    return { pointer: `/rules/${index}/${field}`, detail };
  }
  if (field === 'value') {
    return { pointer: origin.value, detail };
  }
  if (field === 'iss' && origin.iss !== undefined) {
    return { pointer: origin.iss, detail };
  }
  if (field === 'iss' && keyLength !== undefined) {
    // An issuer the input did not name (the credential's own) lengthens the key of the value.
    return { pointer: origin.value, detail };
  }
  // Set by the writer, not taken from the input (an issuer of the credential, an expiry).
  return { pointer: '', detail: `the rule's ${field} ${detail}` };
}
