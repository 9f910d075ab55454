import { createHmac, timingSafeEqual } from 'node:crypto';
import { RescindError } from '../errors';

/** A webhook that fails the Standard Webhooks checks. Never retriable: the sender must fix it. */
export class WebhookVerificationError extends RescindError {
  constructor(message: string, status: 400 | 401 = 401) {
    super(status === 400 ? 'malformed_webhook' : 'invalid_webhook_signature', message);
  }
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a Standard Webhooks signature (standardwebhooks.com): `webhook-signature` holds one or
 * more space-separated `v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<raw body>`
 * keyed with the base64 part of a `whsec_` secret. Any signature matching any configured secret
 * passes (rotation on either side). Compared in constant time; the timestamp must be within
 * `toleranceSeconds` of now, past or future, so a captured request cannot be replayed later.
 * Returns the webhook id: the delivery's replay guard (WebhookDeliveryGuard). The idempotency
 * key is the event's own id, as on every transport.
 */
export function verifyWebhook(
  headers: WebhookHeaders,
  rawBody: Buffer,
  secrets: readonly string[],
  toleranceSeconds: number,
  nowMs: number,
): string {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError(
      'webhook-id, webhook-timestamp and webhook-signature headers are all required',
      400,
    );
  }
  if (!/^[\x21-\x7e]{1,200}$/.test(id) || !/^\d{1,12}$/.test(timestamp)) {
    throw new WebhookVerificationError('malformed webhook-id or webhook-timestamp', 400);
  }
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > toleranceSeconds) {
    throw new WebhookVerificationError(
      `webhook-timestamp is ${Math.round(skew)} s away from now (tolerance ${toleranceSeconds} s)`,
    );
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), rawBody]);
  const expected = secrets.map((secret) =>
    createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(signed)
      .digest(),
  );
  for (const candidate of signature.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) {
      continue; // other schemes (e.g. v1a asymmetric) are not ours to check
    }
    const presented = Buffer.from(value, 'base64');
    if (
      expected.some((mac) => mac.length === presented.length && timingSafeEqual(mac, presented))
    ) {
      return id;
    }
  }
  throw new WebhookVerificationError('no webhook-signature matches');
}
