import { createHmac } from 'node:crypto';

/**
 * Signs as a Standard Webhooks sender does (standardwebhooks.com, spec "Signature scheme"): the
 * key is the base64 part of the `whsec_` secret; the signed content is
 * `<webhook-id>.<webhook-timestamp>.<body>`, timestamp in whole seconds; the signature is
 * `v1,` and the base64 HMAC-SHA256. Written apart from the writer's verifier, so a test signing
 * with it can catch a bug there; it reproduces the spec's published vector
 * ({@link STANDARD_WEBHOOKS_VECTOR}).
 */
export function signWebhook(
  id: string,
  timestampSeconds: number,
  body: string,
  secret: string,
): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const content = `${id}.${timestampSeconds}.${body}`;
  return `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`;
}

/** The test vector the Standard Webhooks libraries all check against. */
export const STANDARD_WEBHOOKS_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestampSeconds: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;
