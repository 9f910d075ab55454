import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Standard Webhooks `webhook-id` gets a table of its own: a replay guard, one row per signed
 * delivery accepted, with the fingerprint of the event it carried. Until now the webhook id was
 * the idempotency key itself, so the same event signed once and sent once by Kafka or bearer was
 * applied twice, and a webhook id equal to an unrelated event id was refused as a conflict.
 * Idempotency is now (source, the event's own id) on every transport; this table only says
 * whether a webhook id was seen with another body. Purged with the idempotency records
 * (`IDEMPOTENCY_RETENTION_DAYS`), hence the index on `received_at`.
 *
 * Existing `processed_event` rows keyed by a webhook id stay until the retention purges them:
 * a sender retrying, after the upgrade, a delivery accepted before it has the event processed
 * once more (keyed by its id now), which for the raises source events make moves an
 * "up to now" cut-off by the minutes between the two.
 */
export class WebhookDeliveries1764374400000 implements MigrationInterface {
  name = 'WebhookDeliveries1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_delivery (
        source      text        NOT NULL,
        webhook_id  text        NOT NULL,
        body_sha256 text        NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (source, webhook_id)
      )`);
    await q.query(`CREATE INDEX webhook_delivery_received_at ON webhook_delivery (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_delivery`);
  }
}
