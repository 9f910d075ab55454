import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a rule's `revoked_before` is compared with: `iat` (every rule so far) or `auth_time`, the
 * token's authentication time, so that a subject-wide revocation also rejects tokens minted
 * later from a grant obtained before it (docs/adr/0009-revocations-that-outlive-grants.md).
 */
export class RuleCutoff1764460800000 implements MigrationInterface {
  name = 'RuleCutoff1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE revocation_rule
        ADD COLUMN cutoff text NOT NULL DEFAULT 'iat' CHECK (cutoff IN ('iat', 'auth_time'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE revocation_rule DROP COLUMN cutoff`);
  }
}
