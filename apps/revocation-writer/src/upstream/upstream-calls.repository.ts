import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { rows } from '../database/sql';

/** One call owed to an identity provider. */
export interface UpstreamCall {
  id: string;
  issuer: string;
  subject: string;
  revocationId: string;
  ruleKey: string;
  source: string;
  sourceEventId: string | null;
  attempts: number;
  createdAt: Date;
}

interface UpstreamCallRow {
  id: string;
  issuer: string;
  subject: string;
  revocation_id: string;
  rule_key: string;
  source: string;
  source_event_id: string | null;
  attempts: number;
  created_at: Date;
}

/** The `upstream_call` table: enqueued with a revocation, claimed and settled by the worker. */
@Injectable()
export class UpstreamCallsRepository {
  /** Records a global token revocation owed to `issuer`'s IdP, in the caller's transaction. */
  async enqueue(
    em: EntityManager,
    call: Omit<UpstreamCall, 'id' | 'attempts' | 'createdAt'>,
  ): Promise<void> {
    await em.query(
      `INSERT INTO upstream_call (kind, issuer, subject, revocation_id, rule_key, source, source_event_id)
       VALUES ('global_revoke', $1, $2, $3, $4, $5, $6)`,
      [call.issuer, call.subject, call.revocationId, call.ruleKey, call.source, call.sourceEventId],
    );
  }

  /** Up to `limit` due calls, locked (skipping those another writer holds), oldest first. */
  async claimDue(em: EntityManager, limit: number): Promise<UpstreamCall[]> {
    const due = await rows<UpstreamCallRow>(
      em,
      `SELECT id, issuer, subject, revocation_id, rule_key, source, source_event_id, attempts, created_at
         FROM upstream_call
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY id
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return due.map((row) => ({
      id: row.id,
      issuer: row.issuer,
      subject: row.subject,
      revocationId: row.revocation_id,
      ruleKey: row.rule_key,
      source: row.source,
      sourceEventId: row.source_event_id,
      attempts: row.attempts,
      createdAt: row.created_at,
    }));
  }

  /** Done (the IdP answered success) or failed for good. */
  async settle(
    em: EntityManager,
    id: string,
    status: 'done' | 'failed',
    attempts: number,
    error: string | null,
  ): Promise<void> {
    await em.query(
      `UPDATE upstream_call SET status = $2, attempts = $3, last_error = $4, done_at = now() WHERE id = $1`,
      [id, status, attempts, error],
    );
  }

  /** Tried again after `delayMs`. */
  async retryLater(
    em: EntityManager,
    id: string,
    attempts: number,
    delayMs: number,
    error: string,
  ): Promise<void> {
    await em.query(
      `UPDATE upstream_call
          SET attempts = $2, last_error = $3, next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
        WHERE id = $1`,
      [id, attempts, error, delayMs],
    );
  }

  async pending(em: EntityManager): Promise<number> {
    const [row] = await rows<{ n: string }>(
      em,
      `SELECT count(*) AS n FROM upstream_call WHERE status = 'pending'`,
      [],
    );
    return Number(row?.n ?? 0);
  }
}
