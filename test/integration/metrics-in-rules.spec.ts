import { createRevocationConsumer } from '@rescind/revocation-consumer';
import { prometheusMetrics } from '@rescind/revocation-consumer/prometheus';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTopics } from '../support/kafka';
import { PROMETHEUS_RULES as RULES } from '../support/prometheus';
import { startUntilReady } from '../support/consumer';
import { waitFor } from '../support/wait-for';
import { postHrEvent, termination } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';
const topics = testTopics('metricsrules');

/** Every `rescind_…` series an alert or recording rule reads, per rules file. */
function metricsNamedIn(file: string): string[] {
  const exprs = [
    ...readFileSync(join(RULES, file), 'utf8').matchAll(/expr: (\|\n[^]*?\n(?= {8}\w)|.*)/g),
  ].map((m) => m[1]!);
  const names = exprs.flatMap((expr) =>
    [...expr.matchAll(/\b(rescind_[a-z0-9_]+)\b/g)].map((m) => m[1]!),
  );
  return [...new Set(names)].sort();
}

/** The metric names of a scrape: every sample's name (histograms: _bucket, _count, _sum). */
function exported(scrape: string): Set<string> {
  return new Set(
    scrape
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
  );
}

/**
 * The alert and recording rules in deploy/prometheus name only series that a running writer and
 * a running enforcement point really export: scraped here, after the activity that makes each
 * appear (an accepted and a refused event, a dead letter, a reinstatement, an applied rule).
 */
describe('metrics named in deploy/prometheus', () => {
  let env: WriterEnvironment;
  const gateway = prometheusMetrics({ serviceName: 'rescind-test-gateway' });

  beforeAll(async () => {
    env = await startWriterEnvironment('metricsrules', {
      topics,
      producer: true,
      config: {
        KAFKA_INGEST_SOURCES: 'hr',
        KAFKA_INGEST_GROUP_ID: 'metrics-rules',
        KAFKA_INGEST_MAX_WAIT_MS: '50',
        HEARTBEAT_INTERVAL_MS: '200',
      },
    });
  });

  afterAll(async () => {
    await env?.close();
    await gateway.shutdown();
  });

  it('exports every series the rules read', async () => {
    const ep = env.adopt(
      createRevocationConsumer({
        brokers: env.brokers,
        topic: topics.names.invalidations,
        groupIdPrefix: 'metrics-rules',
        maxWaitTimeMs: 50,
        meterProvider: gateway.meterProvider,
      }),
    );
    await startUntilReady(ep);
    const { writer, producer } = env;
    // Accepted, then lifted again: an HR termination and its rehire.
    expect((await postHrEvent(writer, termination('metrics-t', 'metrics-user', ISS))).status).toBe(
      202,
    );
    const rehire = await postHrEvent(writer, {
      id: 'metrics-r',
      type: 'employee.rehired',
      occurredAt: new Date().toISOString(),
      subject: 'metrics-user',
      iss: ISS,
    });
    expect(rehire.status).toBe(202);
    // Refused at the guard.
    const refused = await fetch(`${writer.url}/v1/events/hr`, { method: 'POST' });
    expect(refused.status).toBe(401);
    // Dead-lettered from the input topic.
    await producer.send({
      topic: topics.names.hrEvents,
      messages: [{ key: 'poison', value: '{"not": "an event"}' }],
    });
    await waitFor(
      'the rule applied at the enforcement point',
      () => ep.status().lastSeq > 0 && ep.status().stalenessMs !== null,
    );

    const writerScrape = await waitFor('the dead letter counted', async () => {
      const text = await (await fetch(`${writer.url}/metrics`)).text();
      return text.includes('rescind_dead_letters_total') ? text : undefined;
    });
    const series = new Set([...exported(writerScrape), ...exported(await gateway.scrape())]);

    const files = readdirSync(RULES).filter((f) => f.endsWith('.rules.yml'));
    expect(files).toEqual(['rescind-consumer.rules.yml', 'rescind-writer.rules.yml']);
    for (const file of files) {
      const named = metricsNamedIn(file);
      expect(named.length).toBeGreaterThan(0);
      expect({ file, missing: named.filter((name) => !series.has(name)) }).toEqual({
        file,
        missing: [],
      });
    }
  });
});
