import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ReadScope } from '../auth/permissions';
import { rows } from '../database/sql';
import { Conditions } from '../database/sql-conditions';
import { UUID_TEXT } from '../database/uuid';
import type { StoredRule } from '../write-path/stored-rule';
import { RULE_COLUMNS, type RuleRow, toRule } from '../write-path/rules.repository';
import type { ListRulesQuery } from './dto/revocations.dto';

/**
 * What the operator API reads about rules. Read-only: every change goes through a use case
 * (RecordRevocation, ReinstateRule) and RulesRepository, under the row lock. Reads on behalf of
 * a caller take its {@link ReadScope}: a principal acting for one issuer sees that issuer's rules.
 */
@Injectable()
export class RuleQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** The rule with this id, if `scope` may read it. */
  async findById(scope: ReadScope, id: string): Promise<StoredRule | undefined> {
    if (!UUID_TEXT.test(id)) {
      return undefined;
    }
    const where = new Conditions()
      .add('id', '=', id, '::uuid')
      .within(scope, 'iss', { issuerIndependent: false });
    const [row] = await this.query<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM revocation_rule ${where.where}`,
      where.params,
    );
    return row ? toRule(row) : undefined;
  }

  /**
   * The stored rules with these keys (any status), by key. A plain read: no lock, no write. For
   * a dry run, whose keys are already restricted to the caller's issuer (scopeToPrincipal).
   */
  async findByKeys(keys: readonly string[]): Promise<Map<string, StoredRule>> {
    const found = await this.query<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM revocation_rule WHERE rule_key = ANY($1::text[])`,
      [[...new Set(keys)]],
    );
    return new Map(found.map((row) => [row.rule_key, toRule(row)]));
  }

  /**
   * One page of rules, latest change first. Keyset on `seq` (unique): a rule that changes while
   * a client pages gets a new, higher seq and moves to the front, so no page repeats an item;
   * the client sees the change on its next listing from the top.
   */
  async list(
    scope: ReadScope,
    filters: Omit<ListRulesQuery, 'limit' | 'cursor'>,
    limit: number,
    beforeSeq: number | undefined,
  ): Promise<StoredRule[]> {
    const where = new Conditions()
      .within(scope, 'iss', { issuerIndependent: false })
      .add('claim', '=', filters.claim)
      .add('value', '=', filters.value)
      .add('iss', '=', filters.iss)
      .add('source', '=', filters.source)
      .add('status', '=', filters.status)
      .add('updated_at', '>=', filters.from, '::timestamptz')
      .add('updated_at', '<', filters.to, '::timestamptz')
      .add('seq', '<', beforeSeq, '::bigint');
    const found = await this.query<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM revocation_rule ${where.where}
        ORDER BY seq DESC LIMIT ${where.param(limit)}`,
      where.params,
    );
    return found.map(toRule);
  }

  /**
   * The rule versions a revocation wrote, exactly as written (a later change of the same rule
   * does not show), read from the audit record each change left in the same transaction.
   */
  async writtenVersions(
    written: ReadonlyArray<{ revocationId: string; seq: number }>,
  ): Promise<StoredRule[]> {
    const found = await this.query<{ seq: string; after: StoredRule }>(
      `SELECT seq, after FROM audit_log
        WHERE revocation_id = ANY($1::uuid[]) AND seq = ANY($2::bigint[]) AND after IS NOT NULL`,
      [written.map((w) => w.revocationId), written.map((w) => w.seq)],
    );
    const bySeq = new Map(found.map((row) => [Number(row.seq), row.after]));
    return written.map((w) => {
      const version = bySeq.get(w.seq);
      if (version === undefined) {
        throw new Error(`no audit record for rule ${w.revocationId} at seq ${w.seq}`);
      }
      return version;
    });
  }

  private query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return rows<T>(this.dataSource.manager, sql, params);
  }
}
