import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Binds each OAuth client to the one token issuer whose tokens it may revoke (RFC 7009). A
 * `client_id` is only unique per issuer, so without the binding a client registered for one
 * trusted issuer could revoke the sessions of another issuer's client with the same id.
 *
 * `client_id` stays the primary key: a client authenticates at /oauth/revoke with its id and
 * secret only, so the id must name one row. Clients registered before this migration keep a
 * NULL issuer; the writer accepts their JWTs only while exactly one issuer is trusted (then no
 * other issuer can have signed them), until an operator binds them (`rescind-admin client bind`).
 */
export class OAuthClientIssuer1764115200000 implements MigrationInterface {
  name = 'OAuthClientIssuer1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE oauth_client ADD COLUMN issuer text CHECK (issuer IS NULL OR issuer <> '')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE oauth_client DROP COLUMN issuer`);
  }
}
