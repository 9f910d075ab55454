import { NodeSDK } from '@opentelemetry/sdk-node';
import { telemetryResource } from '@rescind/revocation-consumer/prometheus';

/**
 * Starts the OpenTelemetry Node SDK. Must run before the rest of the application loads.
 * Exporters come from the standard OTEL_* variables (e.g. OTEL_TRACES_EXPORTER=otlp and
 * OTEL_EXPORTER_OTLP_ENDPOINT); unlike the SDK's own default, nothing is exported unless asked.
 * W3C trace context is always propagated, so a trace that enters with a request continues
 * through the outbox into Kafka headers.
 */
export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv): NodeSDK {
  for (const signal of ['OTEL_TRACES_EXPORTER', 'OTEL_METRICS_EXPORTER', 'OTEL_LOGS_EXPORTER']) {
    env[signal] ??= 'none';
  }
  // OTEL_SERVICE_NAME wins over the default name, as for the writer's own metrics.
  const sdk = new NodeSDK({ resource: telemetryResource(serviceName), autoDetectResources: false });
  sdk.start();
  return sdk;
}
