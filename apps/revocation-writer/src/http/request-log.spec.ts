import { isHealthProbe } from './request-log';

describe(isHealthProbe.name, () => {
  // Regression: under Fastify the request logger runs as Nest middleware, whose `url` has the
  // mount path cut off; judged by `url` alone, every probe was logged at info (seen in a
  // writer's log: "request completed" for GET /health/live).
  it('recognises a probe by its original URL, whatever the middleware left in url', () => {
    expect(isHealthProbe({ originalUrl: '/health/live', url: '/' })).toBe(true);
    expect(isHealthProbe({ originalUrl: '/health/ready', url: '/ready' })).toBe(true);
    expect(isHealthProbe({ originalUrl: '/health', url: '/' })).toBe(true);
    expect(isHealthProbe({ url: '/health?verbose=1' })).toBe(true);
  });

  it('logs everything else, paths that only begin like it included', () => {
    expect(isHealthProbe({ originalUrl: '/v1/events/hr', url: '/health/live' })).toBe(false);
    expect(isHealthProbe({ originalUrl: '/healthz-of-something-else' })).toBe(false);
    expect(isHealthProbe({})).toBe(false);
  });
});
