import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Counter, Histogram, ObservableGauge } from '@opentelemetry/api';
import { prometheusMetrics } from '@rescind/revocation-consumer/prometheus';

/**
 * The writer's own metrics, served for Prometheus at GET /metrics. A meter provider of its own
 * (not the global one), so the endpoint works whatever the OTEL_* exporters are set to. Times
 * are in seconds, with `_seconds` in the name (Prometheus' base units). `target_info` names the
 * service (OTEL_SERVICE_NAME, else `rescind-writer`) and its instance; the process' CPU and
 * memory and the Node runtime (event loop delay, heap, GC) are measured as well.
 */
@Injectable()
export class WriterMetrics implements OnModuleDestroy {
  private readonly prometheus = prometheusMetrics({ serviceName: 'rescind-writer' });
  private readonly meter = this.prometheus.meterProvider.getMeter('rescind-writer');
  /** Events (and operator/OAuth requests) by source and outcome. */
  readonly ingested: Counter;
  /** Events (commands) per committed write transaction: how much the group commit shares. */
  readonly transactionEvents: Histogram;
  /** Duration of one committed write transaction, BEGIN to COMMIT (seconds). */
  readonly transactionDuration: Histogram;
  /** From the writer's commit to the broker's acknowledgement (seconds). */
  readonly publishLatency: Histogram;
  /** From when the source says it happened (`occurredAt`) to the commit, by source (seconds). */
  readonly detectionToCommit: Histogram;
  /** Rules lifted or lowered, by source and outcome (`reinstated`, `kept`, `not_active`, `lowered`). */
  readonly reinstatements: Counter;
  /** Answered HTTP requests by method, route (its pattern) and status. */
  readonly httpRequests: Counter;
  /** Time to answer an HTTP request (seconds), by method, route and status class. */
  readonly httpDuration: Histogram;
  /** Records of an input topic dead-lettered, by that topic and reason (once durable). */
  readonly deadLetters: Counter;
  /** RFC 8936 poll requests by transmitter and outcome (`ok` or `failed`). */
  readonly ssfPolls: Counter;
  /**
   * Polled SETs by transmitter and outcome: `accepted`, `duplicate` (both acknowledged),
   * `rejected` (reported in `setErrs`, with the RFC 8935 code as `err`), `outage` or `failed`
   * (neither: delivered again later).
   */
  readonly ssfPolledSets: Counter;
  /** Requests to identity providers by issuer, operation and outcome. */
  readonly upstreamRequests: Counter;
  /** Duration of one request to an identity provider (seconds). */
  readonly upstreamDuration: Histogram;
  /** Durable upstream calls by issuer and outcome (`done`, `retry`, `failed`). */
  readonly upstreamCalls: Counter;
  private readonly upstreamPending: ObservableGauge;
  /** Outbox messages not yet published, and the age of the oldest: fed by the outbox. */
  private readonly outboxPending: ObservableGauge;
  private readonly outboxOldestAge: ObservableGauge;

  constructor() {
    const meter = this.meter;
    this.ingested = meter.createCounter('rescind_events_ingested', {
      description: 'Revocation requests by source and outcome',
    });
    this.transactionEvents = meter.createHistogram('rescind_write_transaction_events', {
      description: 'Events (commands) per committed write transaction',
      advice: { explicitBucketBoundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] },
    });
    this.transactionDuration = meter.createHistogram('rescind_write_transaction_duration_seconds', {
      description: 'Duration of a committed write transaction',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      },
    });
    this.publishLatency = meter.createHistogram('rescind_outbox_publish_latency_seconds', {
      description: "Time from a rule change's commit to the broker's acknowledgement",
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30,
        ],
      },
    });
    this.detectionToCommit = meter.createHistogram('rescind_detection_to_commit_seconds', {
      description: "Time from the source's occurredAt to the revocation's commit, by source",
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400,
        ],
      },
    });
    this.reinstatements = meter.createCounter('rescind_reinstatements', {
      description:
        'Rules lifted or lowered (rehires, reinstatements, operator reinstates), by outcome',
    });
    this.httpRequests = meter.createCounter('rescind_http_requests', {
      description: 'Answered HTTP requests by method, route and status',
    });
    this.httpDuration = meter.createHistogram('rescind_http_request_duration_seconds', {
      description: 'Time to answer an HTTP request, by method, route and status class',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
        ],
      },
    });
    this.deadLetters = meter.createCounter('rescind_dead_letters', {
      description: 'Input records sent to the dead-letter topic, by input topic and reason',
    });
    this.ssfPolls = meter.createCounter('rescind_ssf_polls', {
      description: 'RFC 8936 poll requests to SSF transmitters by outcome',
    });
    this.ssfPolledSets = meter.createCounter('rescind_ssf_polled_sets', {
      description: 'SETs received by polling SSF transmitters, by outcome',
    });
    this.upstreamRequests = meter.createCounter('rescind_upstream_requests', {
      description: 'Requests to identity providers by issuer, operation and outcome',
    });
    this.upstreamDuration = meter.createHistogram('rescind_upstream_request_duration_seconds', {
      description: 'Duration of one request to an identity provider',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      },
    });
    this.upstreamCalls = meter.createCounter('rescind_upstream_calls', {
      description: 'Durable calls to identity providers after grant-wide revocations, by outcome',
    });
    this.upstreamPending = meter.createObservableGauge('rescind_upstream_calls_pending', {
      description: 'Durable calls to identity providers not yet done',
    });
    this.outboxPending = meter.createObservableGauge('rescind_outbox_pending', {
      description: 'Outbox messages not yet published',
    });
    this.outboxOldestAge = meter.createObservableGauge('rescind_outbox_oldest_age_seconds', {
      description: 'Age of the oldest unpublished outbox message (0 when none is pending)',
      unit: 's',
    });
  }

  /**
   * Reads the outbox backlog at each scrape. A failed read (PostgreSQL away) leaves both gauges
   * out of that scrape rather than failing it.
   */
  observeOutboxBacklog(read: () => Promise<{ pending: number; oldestAgeMs: number | null }>): void {
    this.meter.addBatchObservableCallback(
      async (result) => {
        const backlog = await read().catch(() => null);
        if (backlog) {
          result.observe(this.outboxPending, backlog.pending);
          result.observe(this.outboxOldestAge, (backlog.oldestAgeMs ?? 0) / 1000);
        }
      },
      [this.outboxPending, this.outboxOldestAge],
    );
  }

  /** Reads the pending upstream calls at each scrape (left out when PostgreSQL is away). */
  observeUpstreamBacklog(read: () => Promise<number>): void {
    this.meter.addBatchObservableCallback(
      async (result) => {
        const pending = await read().catch(() => null);
        if (pending !== null) {
          result.observe(this.upstreamPending, pending);
        }
      },
      [this.upstreamPending],
    );
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.prometheus.scrape();
  }

  async onModuleDestroy(): Promise<void> {
    await this.prometheus.shutdown();
  }
}
