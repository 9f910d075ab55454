import type { EntityManager } from 'typeorm';
import { RescindError } from '../errors';
import type { TransactionalClaim } from '../write-path/processed-events.repository';
import type { WebhookDelivery, WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * A signed webhook whose `webhook-id` was accepted before with another event. Not a retry (a
 * Standard Webhooks retry resends the same message) and not retriable: the sender reused an id.
 */
export class WebhookReplayError extends RescindError {
  constructor(source: string, webhookId: string) {
    super(
      'webhook_replay',
      `webhook-id ${JSON.stringify(webhookId)} from source "${source}" was already delivered with a different event; nothing was recorded (a retry resends the same body, a new event needs a new webhook-id)`,
    );
  }
}

/**
 * The replay guard of one signed delivery, claimed in the revocation's own transaction (so that
 * nothing is acknowledged before it commits, and a refused event leaves no guard behind):
 * a new webhook id is recorded; the same id with the same event is a retry and goes on to the
 * event-id idempotency, which answers it again; the same id with another event is refused.
 * Claiming twice in one transaction is harmless (the second finds its own row).
 */
export class WebhookDeliveryGuard implements TransactionalClaim {
  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly delivery: WebhookDelivery,
  ) {}

  async claim(em: EntityManager): Promise<void> {
    const prior = await this.deliveries.claim(em, this.delivery);
    if (prior !== undefined && prior !== this.delivery.bodySha256) {
      throw new WebhookReplayError(this.delivery.source, this.delivery.webhookId);
    }
  }
}
