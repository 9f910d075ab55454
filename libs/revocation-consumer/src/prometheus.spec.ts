import { ConsumerMetrics } from './metrics';
import { prometheusMetrics, telemetryResource } from './prometheus';

describe(telemetryResource.name, () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('names the service by OTEL_SERVICE_NAME when set, with OTEL_RESOURCE_ATTRIBUTES', () => {
    process.env.OTEL_SERVICE_NAME = 'writer-eu-1';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=staging';
    const { attributes } = telemetryResource('rescind-test-env');
    expect(attributes['service.name']).toBe('writer-eu-1');
    expect(attributes['deployment.environment.name']).toBe('staging');
  });

  it('else by its default name, with an instance id, the process and the host', () => {
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    const { attributes } = telemetryResource('rescind-test-default');
    expect(attributes['service.name']).toBe('rescind-test-default');
    expect(attributes['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(attributes['process.pid']).toBe(process.pid);
    expect(typeof attributes['host.name']).toBe('string');
  });

  it('is one resource per process: traces and metrics name the same instance', () => {
    const first = telemetryResource('rescind-test-same');
    const second = telemetryResource('rescind-test-same');
    expect(second.attributes['service.instance.id']).toBe(first.attributes['service.instance.id']);
  });
});

describe(prometheusMetrics.name, () => {
  it("serves the consumer's metrics, target_info and the process' for a scrape", async () => {
    delete process.env.OTEL_SERVICE_NAME;
    const metrics = prometheusMetrics({ serviceName: 'rescind-test-scrape' });
    try {
      const consumer = new ConsumerMetrics(
        {
          rules: () => 7,
          partitions: () => [],
          stalenessMs: () => 500,
          lags: () => [],
          unreadableBySource: () => ({ snapshot: 0, stream: 0 }),
          decisions: () => ({ revoked: 1 }),
        },
        metrics.meterProvider,
      );
      const text = await metrics.scrape();
      consumer.unregister();

      expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(text).toMatch(/^rescind_consumer_rules\{[^}]*\} 7$/m);
      expect(text).toMatch(/^rescind_consumer_staleness_seconds\{[^}]*\} 0\.5$/m);
      expect(/^target_info\{([^}]*)\} 1$/m.exec(text)?.[1]).toMatch(
        /(^|,)service_name="rescind-test-scrape"(,|$)/,
      );
      expect(text).toMatch(/^process_memory_usage\{[^}]*\} [1-9]\d*$/m);
    } finally {
      await metrics.shutdown();
    }
  });

  it('leaves the process and runtime out when asked', async () => {
    const metrics = prometheusMetrics({ serviceName: 'rescind-test-bare', processMetrics: false });
    try {
      expect(await metrics.scrape()).not.toMatch(/^process_|^nodejs_/m);
    } finally {
      await metrics.shutdown();
    }
  });
});
