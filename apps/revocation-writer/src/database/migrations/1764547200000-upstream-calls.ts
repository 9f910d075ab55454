import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calls the writer owes identity providers: after a grant-wide revocation of a subject, one row
 * per issuer with a global token revocation endpoint, written in the revocation's transaction
 * (as the outbox is) and worked off by `UpstreamWorker` with back-off until done or failed.
 */
export class UpstreamCalls1764547200000 implements MigrationInterface {
  name = 'UpstreamCalls1764547200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE upstream_call (
        id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind            text        NOT NULL CHECK (kind IN ('global_revoke')),
        issuer          text        NOT NULL,
        subject         text        NOT NULL,
        revocation_id   uuid        NOT NULL,
        rule_key        text        NOT NULL,
        source          text        NOT NULL,
        source_event_id text,
        status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        done_at         timestamptz
      )`);
    await q.query(
      `CREATE INDEX upstream_call_due ON upstream_call (next_attempt_at) WHERE status = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE upstream_call`);
  }
}
