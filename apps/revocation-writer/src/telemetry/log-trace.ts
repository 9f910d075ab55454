import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * pino `mixin`: the active trace and span on every log line written inside one (`trace_id`,
 * `span_id`, as OpenTelemetry's log data model names them), so a log line leads to its trace.
 */
export function traceFields(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) {
    return {};
  }
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
