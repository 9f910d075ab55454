import { HostMetrics } from '@opentelemetry/host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The process and the Node runtime, on `provider`: CPU time and memory of the process
 * (`process_cpu_time_seconds_total`, `process_memory_usage`; not the host's, which is the node
 * exporter's job), and the event loop's delay and utilization, V8 heap and GC pauses
 * (`nodejs_eventloop_*`, `v8js_*`). Returns what stops the runtime instrumentation.
 */
export function startProcessMetrics(provider: MeterProvider): () => void {
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
