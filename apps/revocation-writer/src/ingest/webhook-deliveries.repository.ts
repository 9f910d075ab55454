import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { deleteReceivedBefore } from '../database/batched-purge';
import { rows } from '../database/sql';
import type { EventSource } from '../write-path/revocation-command';

/** A signed delivery: the source's Standard Webhooks `webhook-id` and what it carried. */
export interface WebhookDelivery {
  source: EventSource;
  webhookId: string;
  /** Fingerprint of the event it carried (the same as its idempotency record's). */
  bodySha256: string;
  receivedAt: Date;
}

/**
 * Replay guards of signed webhooks: one row per (source, webhook id), in a namespace of their own
 * (a webhook id never meets an event id). Not the idempotency record: that is the event's own id.
 */
@Injectable()
export class WebhookDeliveriesRepository {
  /**
   * Records the delivery in this transaction. Returns `undefined` when the webhook id is new, or
   * the body fingerprint it was first recorded with. A concurrent delivery of the same id waits
   * for the first transaction and then sees its committed row.
   */
  async claim(em: EntityManager, delivery: WebhookDelivery): Promise<string | undefined> {
    for (;;) {
      const claimed = await rows(
        em,
        `INSERT INTO webhook_delivery (source, webhook_id, body_sha256, received_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (source, webhook_id) DO NOTHING
         RETURNING 1`,
        [delivery.source, delivery.webhookId, delivery.bodySha256, delivery.receivedAt],
      );
      if (claimed.length > 0) {
        return undefined;
      }
      const [prior] = await rows<{ body_sha256: string }>(
        em,
        `SELECT body_sha256 FROM webhook_delivery WHERE source = $1 AND webhook_id = $2`,
        [delivery.source, delivery.webhookId],
      );
      if (prior) {
        return prior.body_sha256;
      }
      // Purged by the retention between our insert and our read: the webhook id is new again.
    }
  }

  /**
   * Deletes up to `limit` rows received more than `retentionDays` ago, oldest first, and returns
   * how many; bounded and skipping rows another purge holds, as for the idempotency records.
   */
  purgeOlderThan(em: EntityManager, retentionDays: number, limit: number): Promise<number> {
    return deleteReceivedBefore(
      em,
      { table: 'webhook_delivery', key: 'source, webhook_id' },
      retentionDays,
      limit,
    );
  }
}
