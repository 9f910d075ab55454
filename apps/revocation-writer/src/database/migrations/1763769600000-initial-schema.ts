import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rules, idempotency records, the append-only audit log and the transactional outbox.
 * Unqualified names: the connection's search_path selects the configured schema.
 */
export class InitialSchema1763769600000 implements MigrationInterface {
  name = 'InitialSchema1763769600000';

  async up(q: QueryRunner): Promise<void> {
    // One global, monotonic version counter for every committed rule change.
    await q.query(`CREATE SEQUENCE rule_seq AS bigint START 1`);

    await q.query(`
      CREATE TABLE revocation_rule (
        id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        rule_key       text        NOT NULL UNIQUE,
        claim          text        NOT NULL,
        value          text        NOT NULL,
        iss            text,
        revoked_before timestamptz,            -- NULL: every matching token, whatever its iat
        expires_at     timestamptz,            -- NULL: kept until removed explicitly
        seq            bigint      NOT NULL UNIQUE,
        source         text        NOT NULL,
        reason         text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX revocation_rule_expires_at ON revocation_rule (expires_at) WHERE expires_at IS NOT NULL`,
    );

    // Idempotency: one row per input event, with the answer it got.
    await q.query(`
      CREATE TABLE processed_event (
        source      text        NOT NULL,
        event_id    text        NOT NULL,
        body_sha256 text        NOT NULL,
        result      jsonb       NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (source, event_id)
      )`);

    await q.query(`
      CREATE TABLE audit_log (
        id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        actor           text        NOT NULL,
        action          text        NOT NULL,
        source          text        NOT NULL,
        source_event_id text,
        occurred_at     timestamptz,
        revocation_id   uuid,
        rule_key        text,
        seq             bigint,
        reason          text        NOT NULL,
        before          jsonb,
        after           jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_rule_key ON audit_log (rule_key, id)`);
    // Append-only, even for the table owner: no code path updates or deletes audit rows.
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);

    // Transactional outbox: written in the same transaction as the rule, published by the relay.
    await q.query(`
      CREATE TABLE outbox (
        seq          bigint      PRIMARY KEY,
        topic_key    text        NOT NULL,
        payload      jsonb       NOT NULL,
        headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        published_at timestamptz
      )`);
    // The relay selects what is unpublished (state), never "above a cursor": seq order is not
    // commit order, and a cursor would skip a row whose transaction committed late.
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL`);
    await q.query(
      `CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP FUNCTION audit_log_append_only`);
    await q.query(`DROP TABLE processed_event`);
    await q.query(`DROP TABLE revocation_rule`);
    await q.query(`DROP SEQUENCE rule_seq`);
  }
}
