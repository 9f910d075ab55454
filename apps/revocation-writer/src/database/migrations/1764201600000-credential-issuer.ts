import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets an API credential act for one token issuer only. With several trusted issuers (two
 * identity providers, tenants with their own IdP), an `idp` or `hr` credential of one of them
 * must not revoke users of the others: every rule it writes is restricted to its issuer. NULL (all
 * existing credentials) keeps today's meaning: any issuer.
 */
export class CredentialIssuer1764201600000 implements MigrationInterface {
  name = 'CredentialIssuer1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE api_credential ADD COLUMN issuer text CHECK (issuer IS NULL OR issuer <> '')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_credential DROP COLUMN issuer`);
  }
}
