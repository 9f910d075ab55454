import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rows } from '../database/sql';
import type { StoredRule } from '../write-path/stored-rule';
import { RULE_COLUMNS, type RuleRow, toRule } from '../write-path/rules.repository';

/** Reads the active rules introspection checks a token against. */
@Injectable()
export class ActiveRulesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The active rules with these keys: one query on the unique `rule_key` index, never cached. */
  async findActive(keys: readonly string[]): Promise<StoredRule[]> {
    if (keys.length === 0) {
      return [];
    }
    const found = await rows<RuleRow>(
      this.dataSource.manager,
      `SELECT ${RULE_COLUMNS} FROM revocation_rule WHERE rule_key = ANY($1) AND status = 'active'`,
      [keys],
    );
    return found.map(toRule);
  }
}
