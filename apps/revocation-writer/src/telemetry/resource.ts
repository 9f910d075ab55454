import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  type Resource,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';

/**
 * Who this process is, for every signal it sends: `service.name` (OTEL_SERVICE_NAME when set,
 * else `defaultName`), a `service.instance.id` of its own, and the process and host, plus
 * whatever OTEL_RESOURCE_ATTRIBUTES adds. On /metrics it is `target_info`.
 */
export function telemetryResource(defaultName: string): Resource {
  // One per process: traces and metrics must name the same instance.
  let resource = resources.get(defaultName);
  if (resource === undefined) {
    resource = detect(defaultName);
    resources.set(defaultName, resource);
  }
  return resource;
}

const resources = new Map<string, Resource>();

function detect(defaultName: string): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': defaultName }))
    .merge(
      detectResources({
        // The environment last: what the operator set wins.
        detectors: [processDetector, hostDetector, serviceInstanceIdDetector, envDetector],
      }),
    );
}
