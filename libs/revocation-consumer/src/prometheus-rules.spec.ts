import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PROMETHEUS_RULES as rules, promtool } from '../../../test/support/prometheus';
import { UNREADABLE_RULES_METRIC } from './unreadable-rules';

const RULES_FILE = 'rescind-consumer.rules.yml';

/** How the OpenTelemetry Prometheus exporter names the consumer's counter, found by exporting it. */
async function exportedName(): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  try {
    provider
      .getMeter('rescind-revocation-consumer')
      .createObservableCounter(UNREADABLE_RULES_METRIC)
      .addCallback((r) => r.observe(1, { source: 'snapshot' }));
    const { resourceMetrics } = await exporter.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    const sample = /^(\w+)\{[^}]*source="snapshot"[^}]*\} 1$/m.exec(text);
    expect(sample).not.toBeNull();
    return sample![1]!;
  } finally {
    await provider.shutdown();
  }
}

describe(`deploy/prometheus/${RULES_FILE}`, () => {
  it('alerts on the unreadable-rules counter under the name Prometheus scrapes it by', async () => {
    const name = await exportedName();
    expect(name).toBe('rescind_consumer_unreadable_rules_total');
    const expr = /expr: \|\n([^]*?)\n {8}labels:/.exec(
      readFileSync(join(rules, RULES_FILE), 'utf8'),
    );
    expect(expr?.[1]).toContain(`increase(${name}[`);
  });

  it('passes promtool check rules', () => {
    expect(promtool('check', 'rules', RULES_FILE)).toContain('SUCCESS: 3 rules found');
  });

  it('fires on the first unreadable rule, also on an instance that starts with one, on a stale list and on slow propagation (promtool test rules)', () => {
    expect(promtool('test', 'rules', 'rescind-consumer.rules.test.yml')).toContain('SUCCESS');
  });
});
