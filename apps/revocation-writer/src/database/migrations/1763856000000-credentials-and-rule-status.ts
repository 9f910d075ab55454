import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API credentials and OAuth clients (secrets stored as SHA-256 only), and a rule status so that
 * reinstated and expired rules stay visible to operators after they stopped revoking.
 */
export class CredentialsAndRuleStatus1763856000000 implements MigrationInterface {
  name = 'CredentialsAndRuleStatus1763856000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_credential (
        id            text        PRIMARY KEY,
        name          text        NOT NULL UNIQUE,
        role          text        NOT NULL
                      CHECK (role IN ('hr', 'idp', 'siem', 'operator', 'admin', 'reader', 'introspector')),
        secret_sha256 text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        disabled_at   timestamptz
      )`);
    await q.query(`
      CREATE TABLE oauth_client (
        client_id     text        PRIMARY KEY,
        name          text        NOT NULL,
        secret_sha256 text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        disabled_at   timestamptz
      )`);

    // active: revokes; reinstated: removed by an operator; expired: every token it matched expired.
    await q.query(`
      ALTER TABLE revocation_rule
        ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reinstated', 'expired')),
        ADD COLUMN removed_at timestamptz,
        ADD COLUMN source_event_id text`);
    await q.query(`CREATE INDEX revocation_rule_status_seq ON revocation_rule (status, seq DESC)`);
    await q.query(`CREATE INDEX revocation_rule_claim_value ON revocation_rule (claim, value)`);
    await q.query(`DROP INDEX revocation_rule_expires_at`);
    await q.query(
      `CREATE INDEX revocation_rule_active_expiry ON revocation_rule (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL`,
    );
    await q.query(`ALTER TABLE audit_log ADD COLUMN actor_role text`);
    await q.query(`CREATE INDEX audit_log_revocation_id ON audit_log (revocation_id, id)`);
    await q.query(`CREATE INDEX audit_log_recorded_at ON audit_log (recorded_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_log_recorded_at`);
    await q.query(`DROP INDEX audit_log_revocation_id`);
    await q.query(`ALTER TABLE audit_log DROP COLUMN actor_role`);
    await q.query(`DROP INDEX revocation_rule_active_expiry`);
    await q.query(
      `CREATE INDEX revocation_rule_expires_at ON revocation_rule (expires_at) WHERE expires_at IS NOT NULL`,
    );
    await q.query(`DROP INDEX revocation_rule_claim_value`);
    await q.query(`DROP INDEX revocation_rule_status_seq`);
    await q.query(
      `ALTER TABLE revocation_rule DROP COLUMN source_event_id, DROP COLUMN removed_at, DROP COLUMN status`,
    );
    await q.query(`DROP TABLE oauth_client`);
    await q.query(`DROP TABLE api_credential`);
  }
}
