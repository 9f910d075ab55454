import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { traceFields } from './log-trace';
import { traced } from './traced';

describe(traceFields.name, () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    propagation.disable();
    context.disable();
  });

  it("puts the active trace on a log line written inside a request's span", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const fields = await traced(
      'test',
      {},
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      () => Promise.resolve(traceFields()),
    );
    expect(fields).toEqual({ trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('adds nothing outside a trace', () => {
    expect(traceFields()).toEqual({});
  });
});
