import { Injectable } from '@nestjs/common';
import { type RuleCutoff, ruleKey } from '@rescind/contracts';
import { canonicalCutoffs, mergeRevocation } from '@rescind/rules';
import type { EntityManager } from 'typeorm';
import { RULE_EXPIRED_SQL } from '../database/rule-expiry';
import { rows } from '../database/sql';
import { cutoffsOf, type RuleSpec, type RuleStatus, type StoredRule } from './stored-rule';

export interface RuleRow {
  id: string;
  rule_key: string;
  claim: string;
  value: string;
  iss: string | null;
  revoked_before: Date | null;
  cutoff: RuleCutoff;
  expires_at: Date | null;
  seq: string;
  status: RuleStatus;
  source: string;
  source_event_id: string | null;
  reason: string;
  created_at: Date;
  updated_at: Date;
  removed_at: Date | null;
}

export const RULE_COLUMNS =
  'id, rule_key, claim, value, iss, revoked_before, cutoff, expires_at, seq, status, source, source_event_id, reason, created_at, updated_at, removed_at';

export function toRule(row: RuleRow): StoredRule {
  return {
    id: row.id,
    key: row.rule_key,
    claim: row.claim,
    value: row.value,
    iss: row.iss,
    ...canonicalCutoffs(
      row.revoked_before?.getTime() ?? null,
      row.cutoff,
      row.expires_at?.getTime() ?? null,
    ),
    seq: Number(row.seq),
    status: row.status,
    source: row.source,
    sourceEventId: row.source_event_id,
    reason: row.reason,
    createdAt: row.created_at.getTime(),
    updatedAt: row.updated_at.getTime(),
    removedAt: row.removed_at?.getTime() ?? null,
  };
}

const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export interface RuleChange {
  before: StoredRule | null;
  after: StoredRule;
}

export interface ChangeMeta {
  source: string;
  sourceEventId: string | null;
  reason: string;
}

/**
 * Rule storage. Every change draws a new `seq` while holding the rule's row lock, so a later
 * change of the same key always has the higher `seq` (docs/design.md, "two traps"). All methods
 * that change rules must run inside the caller's transaction.
 */
@Injectable()
export class RulesRepository {
  /**
   * Writes a revocation: creates the rule, or merges the revocation into the stored one with
   * `mergeRevocation` from @rescind/rules (an active rule keeps the later `revokedBefore` and
   * `expiresAt`, null dominating; a reinstated or expired rule is revived with the new values).
   * The merge is computed here, never in SQL: the same function the dry run and the in-force
   * check use.
   */
  async writeRevocation(
    em: EntityManager,
    spec: RuleSpec,
    meta: ChangeMeta,
    inserted?: Map<string, StoredRule>,
  ): Promise<RuleChange> {
    const key = ruleKey(spec);
    const created = inserted?.get(key);
    if (created !== undefined) {
      inserted!.delete(key);
      return { before: null, after: created };
    }
    for (;;) {
      const [inserted] = await rows<RuleRow>(
        em,
        `INSERT INTO revocation_rule
           (rule_key, claim, value, iss, revoked_before, expires_at, seq, source, source_event_id, reason, cutoff)
         VALUES ($1, $2, $3, $4, $5, $6, nextval('rule_seq'), $7, $8, $9, $10)
         ON CONFLICT (rule_key) DO NOTHING
         RETURNING ${RULE_COLUMNS}`,
        [
          key,
          spec.claim,
          spec.value,
          spec.iss,
          toDate(spec.revokedBefore),
          toDate(spec.expiresAt),
          meta.source,
          meta.sourceEventId,
          meta.reason,
          canonicalCutoffs(spec.revokedBefore, spec.cutoff, spec.expiresAt).cutoff ?? 'iat',
        ],
      );
      if (inserted) {
        return { before: null, after: toRule(inserted) };
      }
      const before = await this.lock(em, 'rule_key', key);
      if (!before) {
        continue; // deleted between our insert attempt and the lock: insert again
      }
      const merged = mergeRevocation(cutoffsOf(before), spec);
      const after = await this.update(em, before.id, {
        ...merged,
        cutoff: merged.cutoff ?? 'iat',
        status: 'active',
        ...meta,
      });
      return { before, after };
    }
  }

  /**
   * Creates the rules of `writes` (distinct keys) that do not exist yet, in one statement, as
   * {@link writeRevocation} would (a new `seq` each), and puts each created one in `into` by key;
   * a key that exists is left alone (its write merges later, under its row lock).
   */
  async insertMany(
    em: EntityManager,
    writes: ReadonlyArray<{ spec: RuleSpec; meta: ChangeMeta }>,
    into: Map<string, StoredRule>,
  ): Promise<void> {
    if (writes.length === 0) {
      return;
    }
    const created = await rows<RuleRow>(
      em,
      `INSERT INTO revocation_rule
         (rule_key, claim, value, iss, revoked_before, expires_at, seq, source, source_event_id, reason, cutoff)
       SELECT rule_key, claim, value, iss, revoked_before, expires_at, nextval('rule_seq'), source, source_event_id, reason, cutoff
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                     $7::text[], $8::text[], $9::text[], $10::text[])
              WITH ORDINALITY AS w(rule_key, claim, value, iss, revoked_before, expires_at, source, source_event_id, reason, cutoff, ord)
        ORDER BY ord
       ON CONFLICT (rule_key) DO NOTHING
       RETURNING ${RULE_COLUMNS}`,
      [
        writes.map((w) => ruleKey(w.spec)),
        writes.map((w) => w.spec.claim),
        writes.map((w) => w.spec.value),
        writes.map((w) => w.spec.iss),
        writes.map((w) => toDate(w.spec.revokedBefore)),
        writes.map((w) => toDate(w.spec.expiresAt)),
        writes.map((w) => w.meta.source),
        writes.map((w) => w.meta.sourceEventId),
        writes.map((w) => w.meta.reason),
        writes.map(
          (w) =>
            canonicalCutoffs(w.spec.revokedBefore, w.spec.cutoff, w.spec.expiresAt).cutoff ?? 'iat',
        ),
      ],
    );
    for (const row of created) {
      into.set(row.rule_key, toRule(row));
    }
  }

  /** Locks and returns the rule with this id (or key), or undefined. */
  async lock(
    em: EntityManager,
    by: 'id' | 'rule_key',
    value: string,
  ): Promise<StoredRule | undefined> {
    const [row] = await rows<RuleRow>(
      em,
      `SELECT ${RULE_COLUMNS} FROM revocation_rule WHERE ${by} = $1 FOR UPDATE`,
      [value],
    );
    return row ? toRule(row) : undefined;
  }

  /** Writes a new version of a locked rule (new seq). */
  async update(
    em: EntityManager,
    id: string,
    next: {
      revokedBefore: number | null;
      /** What `revokedBefore` is compared with; absent: left as stored. */
      cutoff?: RuleCutoff;
      expiresAt: number | null;
      status: RuleStatus;
      source: string;
      sourceEventId: string | null;
      reason: string;
    },
  ): Promise<StoredRule> {
    const [row] = await rows<RuleRow>(
      em,
      `UPDATE revocation_rule
          SET revoked_before = $2, expires_at = $3, status = $4, source = $5, source_event_id = $6,
              reason = $7, cutoff = COALESCE($8, cutoff), seq = nextval('rule_seq'), updated_at = now(),
              removed_at = CASE WHEN $4 = 'active' THEN NULL ELSE now() END
        WHERE id = $1
        RETURNING ${RULE_COLUMNS}`,
      [
        id,
        toDate(next.revokedBefore),
        toDate(next.expiresAt),
        next.status,
        next.source,
        next.sourceEventId,
        next.reason,
        next.cutoff ?? null,
      ],
    );
    if (!row) {
      throw new Error(`rule ${id} vanished while locked`);
    }
    return toRule(row);
  }

  /**
   * Marks up to `limit` active rules whose `expiresAt` has passed as expired (new seq each),
   * skipping rules another writer holds. Returns before/after of each.
   */
  async expireDue(em: EntityManager, limit: number): Promise<RuleChange[]> {
    const due = await rows<RuleRow>(
      em,
      `SELECT ${RULE_COLUMNS} FROM revocation_rule
        WHERE status = 'active' AND ${RULE_EXPIRED_SQL}
        ORDER BY expires_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    const changes: RuleChange[] = [];
    for (const row of due) {
      const before = toRule(row);
      const after = await this.update(em, before.id, {
        revokedBefore: before.revokedBefore,
        expiresAt: before.expiresAt,
        status: 'expired',
        source: 'system',
        sourceEventId: null,
        reason: 'expired: every token the rule matched has expired',
      });
      changes.push({ before, after });
    }
    return changes;
  }
}
