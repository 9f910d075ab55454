import { ruleKey } from '@rescind/contracts';
import type { TokenClaims } from '@rescind/revocation-consumer';
import type { Producer } from 'kafkajs';
import { INGEST_TOKEN } from '../writer';
import type { Acknowledgement } from './oracle';

export type Source = 'hr' | 'idp' | 'siem';

/** One revocation the load sends: its event, the rule key it revokes and a token of that rule. */
export interface Revocation {
  source: Source;
  eventId: string;
  key: string;
  token: TokenClaims;
  /** The exact JSON sent, every time (a retry is the same event). */
  body: string;
}

/**
 * An event whose rule revokes every token carrying one value issued until now at least (so a
 * token of it issued a minute ago must be denied): an HR termination (`sub` at `iss`; or a role
 * change, `sub` up to now, which raises the rule's cutoff, a new version, each time), an IdP
 * session revocation (`sid`), a SIEM leaked token (`jti`).
 */
export function revocation(
  source: Source,
  eventId: string,
  value: string,
  iss: string,
  hrType: 'employee.terminated' | 'employee.role_changed' = 'employee.terminated',
): Revocation {
  const occurredAt = new Date().toISOString();
  const iat = Math.floor(Date.now() / 1000) - 60;
  switch (source) {
    case 'hr':
      return {
        source,
        eventId,
        key: ruleKey({ claim: 'sub', value, iss }),
        token: { sub: value, iss, iat },
        body: JSON.stringify({
          id: eventId,
          type: hrType,
          occurredAt,
          subject: value,
          iss,
        }),
      };
    case 'idp':
      return {
        source,
        eventId,
        key: ruleKey({ claim: 'sid', value, iss: null }),
        token: { sid: value, iat },
        body: JSON.stringify({ id: eventId, type: 'session.revoked', occurredAt, sid: value }),
      };
    case 'siem':
      return {
        source,
        eventId,
        key: ruleKey({ claim: 'jti', value, iss: null }),
        token: { jti: value, iat },
        body: JSON.stringify({
          id: eventId,
          type: 'token.leaked',
          occurredAt,
          severity: 'high',
          jti: value,
        }),
      };
  }
}

/** Loads started and not stopped yet: {@link stopLoads} stops them after a failed test. */
const running = new Set<{ stop(drainMs?: number): Promise<void> }>();

/** Stops every load still running (a test that failed half way), for `afterEach`. */
export async function stopLoads(): Promise<void> {
  await Promise.all([...running].map((load) => load.stop(0)));
}

/** What a load did, for the oracle and the printout. */
export interface LoadRecord {
  readonly sent: Revocation[];
  readonly acks: Acknowledgement[];
  /** Answers by outcome (`202`, `503`, `network`, ...), retries included. */
  readonly outcomes: Map<string, number>;
}

function count(outcomes: Map<string, number>, outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

export interface HttpLoadOptions {
  /** Where to send, asked anew for every attempt (a restarted writer has a new address). */
  url: () => string | null;
  prefix: string;
  iss: string;
  ratePerSecond: number;
  /** Default: HR events only. */
  sources?: Source[];
  /** Requests in flight at most; a tick beyond it sends nothing (default 16). */
  maxInFlight?: number;
  /** Between a failed attempt and its retry (ms; default 200). */
  retryDelayMs?: number;
}

/**
 * A client sending revocations over HTTP at a steady rate (`POST /v1/events/{source}`), as an
 * HR system would: every event has an id of its own, a 2xx is an acknowledgement (logged with
 * the instant it arrived), and anything else (503 while PostgreSQL is away, a refused or reset
 * connection while the writer is dead, a timeout) is retried with the same id and body until it
 * is acknowledged, also after `stop()` for up to its drain time. A 500 is retried too, though it
 * says `retriable: false`: retrying can only add acknowledgements, and `serverErrors` keeps it. A status that retrying cannot
 * help (4xx other than 408 and 429) is logged in `unexpected` and not retried.
 */
export class HttpLoad implements LoadRecord {
  readonly sent: Revocation[] = [];
  readonly acks: Acknowledgement[] = [];
  readonly outcomes = new Map<string, number>();
  readonly unexpected: string[] = [];
  /** The first few answers 5xx other than 503 (retried, but each one a server-side bug). */
  readonly serverErrors: string[] = [];
  private readonly pending = new Set<Revocation>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private retrying = true;
  private n = 0;

  constructor(private readonly options: HttpLoadOptions) {}

  start(): this {
    const interval = 1000 / this.options.ratePerSecond;
    this.timer = setInterval(() => this.tick(), interval);
    running.add(this);
    return this;
  }

  /** Unacknowledged events (sent, not yet answered with a 2xx). */
  get unacknowledged(): number {
    return this.pending.size;
  }

  /**
   * Sends no new events; retries what is unacknowledged until it is, or `drainMs` has passed.
   */
  async stop(drainMs = 20_000): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    const deadline = Date.now() + drainMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.inFlight), delay(100)]);
    }
    this.retrying = false;
    await Promise.all(this.inFlight);
    running.delete(this);
  }

  private tick(): void {
    if (this.inFlight.size >= (this.options.maxInFlight ?? 16)) {
      count(this.outcomes, 'shed');
      return;
    }
    const sources = this.options.sources ?? ['hr'];
    const source = sources[this.n % sources.length]!;
    const n = this.n++;
    const r = revocation(
      source,
      `${this.options.prefix}-${n}`,
      `${this.options.prefix}-v${n}`,
      this.options.iss,
    );
    this.sent.push(r);
    this.pending.add(r);
    this.attempt(r);
  }

  private attempt(r: Revocation): void {
    const url = this.options.url();
    const run = (url === null ? Promise.reject(new Error('no writer')) : this.post(url, r))
      .then(async (response) => {
        count(this.outcomes, String(response.status));
        if (response.status === 200 || response.status === 202) {
          const body = (await response.json()) as { seq?: number };
          this.acks.push({
            source: r.source,
            eventId: r.eventId,
            key: r.key,
            via: 'http',
            ackedAt: Date.now(),
            ...(typeof body.seq === 'number' && { seq: body.seq }),
          });
          this.pending.delete(r);
          return;
        }
        const text = await response.text();
        if (response.status >= 500 && response.status !== 503 && this.serverErrors.length < 5) {
          this.serverErrors.push(`${r.eventId}: ${response.status} ${text.slice(0, 300)}`);
        }
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          this.unexpected.push(`${r.eventId}: ${response.status} ${text.slice(0, 300)}`);
          this.pending.delete(r);
          return;
        }
        this.retryLater(r);
      })
      .catch(() => {
        count(this.outcomes, 'network');
        this.retryLater(r);
      })
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private retryLater(r: Revocation): void {
    if (!this.retrying) {
      return;
    }
    const timer = setTimeout(() => {
      if (this.retrying) {
        this.attempt(r);
      }
    }, this.options.retryDelayMs ?? 200);
    timer.unref();
  }

  private post(url: string, r: Revocation): Promise<Response> {
    return fetch(`${url}/v1/events/${r.source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
      body: r.body,
      signal: AbortSignal.timeout(5000),
    });
  }
}

export interface KafkaLoadOptions {
  producer: Producer;
  topics: Record<Source, string>;
  prefix: string;
  iss: string;
  ratePerSecond: number;
  sources?: Source[];
}

/**
 * A client producing revocations to the input topics at a steady rate (`acks: -1`). An event is
 * acknowledged once the broker acknowledged it: then it is on the topic, and the writer owes it.
 * A failed send is retried (same event) until it is acknowledged or the load is stopped.
 */
export class KafkaLoad implements LoadRecord {
  readonly sent: Revocation[] = [];
  readonly acks: Acknowledgement[] = [];
  readonly outcomes = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(private readonly options: KafkaLoadOptions) {}

  start(): this {
    this.timer = setInterval(() => this.tick(), 1000 / this.options.ratePerSecond);
    running.add(this);
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    while (this.inFlight.size > 0) {
      await Promise.all(this.inFlight);
    }
    running.delete(this);
  }

  private tick(): void {
    const sources = this.options.sources ?? ['hr', 'idp', 'siem'];
    const source = sources[this.n % sources.length]!;
    const n = this.n++;
    const r = revocation(
      source,
      `${this.options.prefix}-${n}`,
      `${this.options.prefix}-v${n}`,
      this.options.iss,
    );
    this.sent.push(r);
    this.send(r, 5);
  }

  private send(r: Revocation, attempts: number): void {
    const run = this.options.producer
      .send({
        topic: this.options.topics[r.source],
        acks: -1,
        messages: [
          {
            key: r.eventId,
            value: r.body,
            headers: { 'content-type': 'application/json', 'rescind-schema-version': 'v1' },
          },
        ],
      })
      .then(() => {
        count(this.outcomes, 'acked');
        this.acks.push({
          source: r.source,
          eventId: r.eventId,
          key: r.key,
          via: 'kafka',
          ackedAt: Date.now(),
        });
      })
      .catch(() => {
        count(this.outcomes, 'failed');
        if (attempts > 1 && this.timer !== null) {
          this.send(r, attempts - 1);
        }
      })
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
