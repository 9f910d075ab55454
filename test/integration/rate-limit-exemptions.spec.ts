import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const LIMIT = 3;
/** Far beyond both limits, from one address and one presented credential. */
const PROBES = 4 * LIMIT;

/**
 * Health probes and metric scrapes come from one address (the kubelet, Prometheus), often, and
 * sometimes with a bearer token (a scrape config's `authorization`): neither the per-address nor
 * the per-credential limit may ever answer them 429. Both throttlers are named (`ip`,
 * `principal`), so a bare `@SkipThrottle()` (which skips only one named `default`) would not do.
 */
describe('rate limits spare health and metrics', () => {
  let env: WriterEnvironment;
  let writer: RunningWriter;

  beforeAll(async () => {
    env = await startWriterEnvironment('ratelimitx', {
      config: {
        RATE_LIMIT_PER_IP_PER_MINUTE: String(LIMIT),
        RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: String(LIMIT),
      },
    });
    ({ writer } = env);
  });

  afterAll(() => env?.close());

  it.each(['/health/live', '/health/ready', '/health', '/metrics'])(
    `never answers %s with 429, past both limits (${LIMIT} a minute), with or without a bearer token`,
    async (path) => {
      const statuses = new Set<number>();
      for (let i = 0; i < PROBES; i++) {
        statuses.add((await fetch(`${writer.url}${path}`)).status);
        const withToken = await fetch(`${writer.url}${path}`, {
          headers: { authorization: 'Bearer scrape-token' },
        });
        statuses.add(withToken.status);
      }
      expect(statuses).not.toContain(429);
    },
  );

  it('does limit other routes from the same address and token (the limits are in force)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      const response = await fetch(`${writer.url}/v1/revocations`, {
        headers: { authorization: 'Bearer scrape-token' },
      });
      statuses.push(response.status);
    }
    expect(statuses[LIMIT]).toBe(429);
  });
});
