import { context, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';

const tracer = trace.getTracer('rescind-writer');

/**
 * Runs a use case in a span that continues the caller's trace (W3C headers of the request or
 * message). Errors are recorded on the span and rethrown as they are: what they mean is for
 * the use case and the transports to say (failure.ts), not for tracing.
 */
export function traced<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  traceContext: Record<string, string>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(context.active(), traceContext);
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * The active trace context as W3C headers, to carry through the outbox into Kafka: every
 * invalidation message gets a `traceparent`, so that an enforcement point's apply can be tied
 * to the revocation that caused it. When there is no trace to continue (the caller sent no
 * `traceparent` and no tracing SDK records spans here), a fresh trace id is minted, not sampled
 * (flags 00): the message still names one trace, which a caller downstream may continue.
 */
export function activeTraceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  if (headers.traceparent === undefined) {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    return { traceparent: `00-${traceId}-${spanId}-00` };
  }
  return headers;
}
