import { signWebhook, STANDARD_WEBHOOKS_VECTOR } from '../../../../test/support/webhook-signing';
import { httpStatus } from '../http/problem-details';
import { verifyWebhook, WebhookVerificationError } from './webhook-signature';

const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const other = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
const body = '{"id":"e1","type":"employee.terminated"}';
const now = 1_800_000_000_000;
const ts = String(now / 1000);

function verify(
  signature: string | undefined,
  overrides: Partial<{ id: string; timestamp: string; body: string }> = {},
) {
  return verifyWebhook(
    { id: overrides.id ?? 'msg_1', timestamp: overrides.timestamp ?? ts, signature },
    Buffer.from(overrides.body ?? body),
    [secret],
    300,
    now,
  );
}

describe(verifyWebhook.name, () => {
  it('accepts the Standard Webhooks test vector, which the test signer reproduces', () => {
    const { secret: vectorSecret, id, timestampSeconds, signature } = STANDARD_WEBHOOKS_VECTOR;
    const vectorBody = STANDARD_WEBHOOKS_VECTOR.body;
    expect(signWebhook(id, timestampSeconds, vectorBody, vectorSecret)).toBe(signature);
    expect(
      verifyWebhook(
        { id, timestamp: String(timestampSeconds), signature },
        Buffer.from(vectorBody),
        [vectorSecret],
        300,
        timestampSeconds * 1000,
      ),
    ).toBe(id);
  });

  it('accepts a valid signature and returns the webhook id', () => {
    expect(verify(signWebhook('msg_1', now / 1000, body, secret))).toBe('msg_1');
  });

  it('accepts when any of several signatures matches (sender-side rotation)', () => {
    const both = `${signWebhook('msg_1', now / 1000, body, other)} ${signWebhook('msg_1', now / 1000, body, secret)}`;
    expect(verify(both)).toBe('msg_1');
  });

  it.each([
    ['a signature made with another secret', signWebhook('msg_1', now / 1000, body, other), {}],
    [
      'a signature over re-serialised JSON',
      signWebhook('msg_1', now / 1000, JSON.stringify(JSON.parse(body), null, 1), secret),
      {},
    ],
    ['a signature for another webhook id', signWebhook('msg_2', now / 1000, body, secret), {}],
    [
      'a timestamp 301 s in the past',
      signWebhook('msg_1', now / 1000 - 301, body, secret),
      { timestamp: String(now / 1000 - 301) },
    ],
    [
      'a timestamp 301 s in the future',
      signWebhook('msg_1', now / 1000 + 301, body, secret),
      { timestamp: String(now / 1000 + 301) },
    ],
    ['an unknown scheme only', 'v2,AAAA', {}],
  ])('rejects %s', (_, signature, overrides) => {
    expect(() => verify(signature, overrides)).toThrow(WebhookVerificationError);
  });

  it('answers 400 for missing headers and 401 for a bad signature', () => {
    const statusOf = (signature: string | undefined): number | undefined => {
      try {
        verify(signature);
      } catch (error) {
        return httpStatus((error as WebhookVerificationError).code);
      }
      return undefined;
    };
    expect(statusOf(undefined)).toBe(400);
    expect(statusOf('v1,AAAA')).toBe(401);
  });
});
