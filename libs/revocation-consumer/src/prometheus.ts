/**
 * `@rescind/revocation-consumer/prometheus`: the consumer's metrics (and the process' and the
 * runtime's) for a Prometheus scrape, in one call, for a service that has no OpenTelemetry
 * metrics SDK of its own:
 *
 * @example
 * const metrics = prometheusMetrics({ serviceName: 'orders-api' });
 * const consumer = createRevocationConsumer({ brokers, meterProvider: metrics.meterProvider });
 * app.get('/metrics', async (_req, res) => {
 *   res.type(metrics.contentType).send(await metrics.scrape());
 * });
 *
 * A service with its own SDK passes its meter provider (or none: the global one) instead.
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { HostMetrics } from '@opentelemetry/host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
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
import { MeterProvider } from '@opentelemetry/sdk-metrics';

export interface PrometheusMetricsOptions {
  /** `service.name` in `target_info` unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  /** Process CPU and memory, event loop, heap and GC as well (default true). */
  processMetrics?: boolean;
}

/** A meter provider of its own, read by a Prometheus scrape. */
export interface PrometheusMetrics {
  /** For `createRevocationConsumer({ meterProvider })`, and for the service's own instruments. */
  readonly meterProvider: MeterProvider;
  /** The Content-Type of {@link scrape}'s text. */
  readonly contentType: string;
  /** Everything measured, in the Prometheus text exposition format. */
  scrape(): Promise<string>;
  /** Stops measuring (the process and runtime metrics included). */
  shutdown(): Promise<void>;
}

/**
 * Metrics for a Prometheus scrape: times in seconds (`_seconds`), `target_info` naming the
 * service ({@link telemetryResource}), and by default the process and the Node runtime
 * (`process_cpu_time_total`, `process_memory_usage`, `nodejs_eventloop_*`, `v8js_*`; not the
 * host's, which is the node exporter's job).
 */
export function prometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({
    readers: [reader],
    resource: telemetryResource(options.serviceName),
  });
  const stopProcessMetrics =
    options.processMetrics === false ? () => undefined : startProcessMetrics(meterProvider);
  const serializer = new PrometheusSerializer();
  return {
    meterProvider,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    async scrape() {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(resourceMetrics);
    },
    async shutdown() {
      stopProcessMetrics();
      await meterProvider.shutdown();
    },
  };
}

/**
 * Who this process is, for every signal it sends: `service.name` (OTEL_SERVICE_NAME when set,
 * else `defaultName`), a `service.instance.id` of its own, and the process and host, plus
 * whatever OTEL_RESOURCE_ATTRIBUTES adds. On /metrics it is `target_info`. One per process and
 * name, so that its traces and its metrics name the same instance.
 */
export function telemetryResource(defaultName: string): Resource {
  let resource = resources.get(defaultName);
  if (resource === undefined) {
    resource = defaultResource()
      .merge(resourceFromAttributes({ 'service.name': defaultName }))
      .merge(
        detectResources({
          // The environment last: what the operator set wins.
          detectors: [processDetector, hostDetector, serviceInstanceIdDetector, envDetector],
        }),
      );
    resources.set(defaultName, resource);
  }
  return resource;
}

const resources = new Map<string, Resource>();

/** Process CPU and memory, and the Node runtime, on `provider`; returns what stops them. */
function startProcessMetrics(provider: MeterProvider): () => void {
  new HostMetrics({
    meterProvider: provider,
    name: 'rescind-process',
    metricGroups: ['process.cpu', 'process.memory'],
  }).start();
  const runtime = new RuntimeNodeInstrumentation({ enabled: false, monitoringPrecision: 5000 });
  runtime.setMeterProvider(provider);
  runtime.enable();
  return () => runtime.disable();
}
