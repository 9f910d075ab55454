import { telemetryResource } from './resource';

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
