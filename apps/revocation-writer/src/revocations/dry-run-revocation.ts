import { Injectable } from '@nestjs/common';
import { ruleKey } from '@rescind/contracts';
import { authorizeRules, scopeToPrincipal } from '../auth/authorize-rules';
import type { Principal } from '../auth/permissions';
import { InjectConfig, type WriterConfig } from '../config/config';
import { assertPublishable } from '../write-path/publishable-rules';
import type { RuleSpec } from '../write-path/stored-rule';
import { RulePolicy } from '../write-path/rule-policy';
import { type PlannedRule, planRevocation } from './operator-rules';
import { RuleQueries } from './rule-queries.repository';

/**
 * A revocation's dry run: the same authorization as the real thing (so a dry run never tells a
 * caller "fine" for what would be refused), then what would be written, from a plain read. It
 * writes nothing: no rule, no outbox message, no audit record, no idempotency record.
 */
@Injectable()
export class DryRunRevocation {
  constructor(
    private readonly queries: RuleQueries,
    private readonly policy: RulePolicy,
    @InjectConfig('rules') private readonly rulesConfig: WriterConfig['rules'],
  ) {}

  async execute(command: {
    principal: Principal;
    confirmed: boolean;
    rules: RuleSpec[];
  }): Promise<PlannedRule[]> {
    const rules = scopeToPrincipal(command.principal, command.rules);
    // What the real request would refuse as unpublishable, the dry run refuses too.
    assertPublishable(rules);
    authorizeRules(command.principal, rules, {
      confirmed: command.confirmed,
      policy: this.policy,
      bulkThreshold: this.rulesConfig.bulkConfirmThreshold,
    });
    const stored = await this.queries.findByKeys(rules.map((rule) => ruleKey(rule)));
    return planRevocation(rules, stored);
  }
}
