import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { traceFields } from './log-trace';
import { activeTraceHeaders, traced } from './traced';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

// No tracing SDK records spans here, as in a writer with OTEL_TRACES_EXPORTER=none; the
// context manager and the W3C propagator are what the writer's telemetry always sets up.
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
  context.disable();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** `work`'s answer, run in a span that continues the caller's trace TRACE_ID. */
const inCallersTrace = <T>(work: () => T): Promise<T> =>
  traced('test', {}, { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` }, () =>
    Promise.resolve(work()),
  );

describe(activeTraceHeaders.name, () => {
  it("continues the caller's trace when it sent one", async () => {
    const headers = await inCallersTrace(activeTraceHeaders);
    expect(TRACEPARENT.exec(headers.traceparent ?? '')?.[1]).toBe(TRACE_ID);
  });

  it('mints a trace of its own when there is none, a new one each time, never all zeros', async () => {
    const first = await traced('test', {}, {}, () => Promise.resolve(activeTraceHeaders()));
    const second = await traced('test', {}, {}, () => Promise.resolve(activeTraceHeaders()));
    const [, firstTrace, firstSpan] = TRACEPARENT.exec(first.traceparent ?? '') ?? [];
    const [, secondTrace] = TRACEPARENT.exec(second.traceparent ?? '') ?? [];
    expect(firstTrace).toMatch(/[1-9a-f]/);
    expect(firstSpan).toMatch(/[1-9a-f]/);
    expect(secondTrace).toBeDefined();
    expect(secondTrace).not.toBe(firstTrace);
  });
});

describe(traceFields.name, () => {
  it("puts the active trace on a log line written inside a use case's span", async () => {
    expect(await inCallersTrace(traceFields)).toEqual({
      trace_id: TRACE_ID,
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('adds nothing outside a trace', () => {
    expect(traceFields()).toEqual({});
  });
});
