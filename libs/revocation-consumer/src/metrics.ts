import {
  type Histogram,
  type MeterProvider,
  metrics,
  type Observable,
  type ObservableCallback,
} from '@opentelemetry/api';
import type { PartitionFreshness } from './freshness';
import { UNREADABLE_RULES_METRIC, type UnreadableSource } from './unreadable-rules';

/** What the instruments read, when a metrics SDK collects. */
export interface MetricSources {
  rules(): number;
  partitions(): readonly PartitionFreshness[];
  stalenessMs(): number | null;
  /** Per partition whose end is known, the messages not yet consumed. */
  lags(): Iterable<[partition: number, lag: number]>;
  unreadableBySource(): Readonly<Record<UnreadableSource, number>>;
  decisions(): Readonly<Record<string, number>>;
}

/**
 * The consumer's OpenTelemetry instruments: the propagation latency histogram, and observable
 * gauges and counters that read the consumer's state only when a metrics SDK collects. Times are
 * in seconds, with `_seconds` in the name (Prometheus' base units, as the writer's).
 *
 * The meter is taken when the consumer is created, not when the module is loaded: the metrics
 * API has no proxy, so a host that sets up its metrics SDK after importing this library still
 * gets them.
 */
export class ConsumerMetrics {
  readonly latency: Histogram;
  private readonly unregisters: Array<() => void> = [];

  constructor(sources: MetricSources, provider: MeterProvider = metrics) {
    const meter = provider.getMeter('rescind-revocation-consumer');
    this.latency = meter.createHistogram('rescind.consumer.propagation_latency_seconds', {
      description: "Time from the writer's commit to the consumer's apply",
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
        ],
      },
    });
    const observe = (instrument: Observable, callback: ObservableCallback): void => {
      instrument.addCallback(callback);
      this.unregisters.push(() => instrument.removeCallback(callback));
    };
    observe(
      meter.createObservableGauge('rescind.consumer.rules', {
        description: 'Rules that currently revoke',
      }),
      (r) => r.observe(sources.rules()),
    );
    observe(
      meter.createObservableGauge('rescind.consumer.heartbeat_age_seconds', {
        description: 'Age of the last heartbeat per partition',
        unit: 's',
      }),
      (r) => {
        for (const p of sources.partitions()) {
          if (p.heartbeatAgeMs !== null) {
            r.observe(p.heartbeatAgeMs / 1000, { partition: p.partition });
          }
        }
      },
    );
    observe(
      meter.createObservableGauge('rescind.consumer.staleness_seconds', {
        description:
          'At most how long ago a revocation was acknowledged that the list may still miss (absent: no proof yet)',
        unit: 's',
      }),
      (r) => {
        const staleness = sources.stalenessMs();
        if (staleness !== null) {
          r.observe(staleness / 1000);
        }
      },
    );
    observe(
      meter.createObservableGauge('rescind.consumer.lag', {
        description: 'Messages not yet consumed',
      }),
      (r) => {
        for (const [partition, lag] of sources.lags()) {
          r.observe(lag, { partition });
        }
      },
    );
    observe(
      meter.createObservableCounter(UNREADABLE_RULES_METRIC, {
        description:
          'Snapshot rule lines and topic messages that could not be read and were skipped, by source',
      }),
      (r) => {
        // Both sources from the start, at zero: an alert on the increase then sees the first one.
        for (const [source, count] of Object.entries(sources.unreadableBySource())) {
          r.observe(count, { source });
        }
      },
    );
    observe(
      meter.createObservableCounter('rescind.consumer.decisions', {
        description: 'check() decisions by outcome',
      }),
      (r) => {
        for (const [outcome, count] of Object.entries(sources.decisions())) {
          r.observe(count, { outcome });
        }
      },
    );
  }

  /** Removes the observable callbacks: a stopped consumer reports nothing more. */
  unregister(): void {
    this.unregisters.splice(0).forEach((unregister) => unregister());
  }
}
