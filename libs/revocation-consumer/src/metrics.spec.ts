import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ConsumerMetrics, type MetricSources } from './metrics';

/** The Prometheus text of what `metrics` exports, as an embedding service's /metrics serves it. */
async function scrape(reader: PrometheusExporter): Promise<string> {
  const { resourceMetrics } = await reader.collect();
  return new PrometheusSerializer().serialize(resourceMetrics);
}

describe(ConsumerMetrics.name, () => {
  const sources: MetricSources = {
    rules: () => 3,
    partitions: () => [
      { partition: 0, heartbeatAgeMs: 1500, publishLagMs: 0, heartbeatSeq: 9, stalenessMs: 1500 },
      {
        partition: 1,
        heartbeatAgeMs: null,
        publishLagMs: null,
        heartbeatSeq: null,
        stalenessMs: null,
      },
    ],
    stalenessMs: () => 2250,
    lags: () => [[0, 4]],
    unreadableBySource: () => ({ snapshot: 0, stream: 1 }),
    decisions: () => ({ allowed: 5, revoked: 2 }),
  };

  it('exports times in seconds, with _seconds in their names (Prometheus base units)', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = new ConsumerMetrics(sources, provider);
    metrics.latency.record(0.02); // what the applier records: seconds

    const text = await scrape(reader);

    expect(text).toMatch(/^rescind_consumer_staleness_seconds\{[^}]*\} 2\.25$/m);
    expect(text).toMatch(
      /^rescind_consumer_heartbeat_age_seconds\{[^}]*partition="0"[^}]*\} 1\.5$/m,
    );
    expect(text).not.toMatch(/partition="1"/);
    expect(text).toMatch(
      /^rescind_consumer_propagation_latency_seconds_bucket\{[^}]*le="0\.025"[^}]*\} 1$/m,
    );
    expect(text).toMatch(
      /^rescind_consumer_propagation_latency_seconds_bucket\{[^}]*le="0\.01"[^}]*\} 0$/m,
    );
    expect(text).toMatch(/^rescind_consumer_rules\{[^}]*\} 3$/m);
    expect(text).toMatch(/^rescind_consumer_lag\{[^}]*partition="0"[^}]*\} 4$/m);
    expect(text).toMatch(/^rescind_consumer_decisions_total\{[^}]*outcome="revoked"[^}]*\} 2$/m);
    expect(text).not.toMatch(/_ms\b|# UNIT \S+ ms$/m);
    await provider.shutdown();
  });

  it('exports nothing more once unregistered (a stopped consumer)', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    new ConsumerMetrics(sources, provider).unregister();

    expect(await scrape(reader)).not.toMatch(/^rescind_consumer_staleness_seconds/m);
    await provider.shutdown();
  });
});
