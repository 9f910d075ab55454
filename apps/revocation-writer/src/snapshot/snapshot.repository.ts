import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ReadScope } from '../auth/permissions';
import { RULE_UNEXPIRED_SQL } from '../database/rule-expiry';
import { rows } from '../database/sql';
import { Conditions } from '../database/sql-conditions';
import type { StoredRule } from '../write-path/stored-rule';
import { RULE_COLUMNS, type RuleRow, toRule } from '../write-path/rules.repository';

/** What the snapshot reads: the watermark, and the rules in force, page by page in seq order. */
@Injectable()
export class SnapshotRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Highest `seq` committed (0 for an empty table): the snapshot is complete up to it. */
  async watermark(): Promise<number> {
    const [top] = await rows<{ seq: string | null }>(
      this.dataSource.manager,
      `SELECT max(seq) AS seq FROM revocation_rule`,
    );
    return Number(top?.seq ?? 0);
  }

  /**
   * Up to `limit` active, unexpired rules with a `seq` above `afterSeq` that `scope` may read,
   * issuer-independent rules included (they match the reader's tokens too), in seq order.
   */
  async rulesInForce(afterSeq: number, scope: ReadScope, limit: number): Promise<StoredRule[]> {
    const where = new Conditions()
      .literal(`status = 'active'`)
      .add('seq', '>', afterSeq, '::bigint')
      .literal(RULE_UNEXPIRED_SQL)
      .within(scope, 'iss', { issuerIndependent: true });
    const page = await rows<RuleRow>(
      this.dataSource.manager,
      `SELECT ${RULE_COLUMNS} FROM revocation_rule ${where.where}
        ORDER BY seq
        LIMIT ${where.param(limit)}`,
      where.params,
    );
    return page.map(toRule);
  }
}
