import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { backoffDelay } from '@rescind/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectConfig, type PollConfig, type WriterConfig } from '../config/config';
import { classifyFailure } from '../failure';
import { WriterMetrics } from '../metrics/writer-metrics';
import { ReceiveSet } from './receive-set';
import {
  PollFailedError,
  type PollRequest,
  type PollResponse,
  requestSets,
  sendReport,
  type SetErr,
} from './ssf-poll-client';
import { type SetErrorCode, SetRejectedError } from './set-verifier';

/** What one pass decided about the next: poll again now, after the interval, or back off. */
type Next = 'now' | 'interval' | 'backoff';

/**
 * How one polled SET ended: recorded (`accepted`, `duplicate`: acknowledged), never acceptable
 * (`rejected`: in setErrs), or not recorded and delivered again (`outage` of PostgreSQL, or
 * `failed` unexpectedly).
 */
type SetOutcome = 'accepted' | 'duplicate' | 'rejected' | 'outage' | 'failed';

/**
 * The most the acknowledge-only request at stop may add to the shutdown (ms), whatever the
 * transmitter does; shorter when the poll timeout is.
 */
const FINAL_REPORT_TIMEOUT_MS = 2000;

/** A `jti` from the transmitter, quoted and bounded for a log line. */
const quote = (jti: string): string => JSON.stringify(jti.slice(0, 200));

/**
 * RFC 8936 poll delivery from one transmitter. Each pass sends what earlier passes learnt
 * (`ack`: committed; `setErrs`: never acceptable) and receives the next SETs, which go through
 * the same {@link ReceiveSet} as pushed ones.
 *
 * - A `jti` is acknowledged only after its transaction committed; a redelivered `jti` that had
 *   committed (our earlier ack was lost) is acknowledged again, since redelivery is normal here.
 * - A SET that can never be accepted goes to `setErrs` with its RFC 8935 error code, and to the
 *   log with its `jti` (never the SET): the poll mode's dead letter.
 * - While PostgreSQL is down a SET is neither acknowledged nor reported: the transmitter keeps
 *   it and delivers it again after the back-off.
 * - An unreachable or failing transmitter is retried with capped exponential back-off; nothing
 *   here ever stops the writer.
 * - At stop, what is learnt but not yet reported goes in one acknowledge-only request, so the
 *   transmitter does not deliver committed SETs again after the restart.
 */
export class TransmitterPoller {
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  private failures = 0;
  private readonly acks = new Set<string>();
  private readonly setErrs = new Map<string, SetErr>();

  constructor(
    private readonly issuer: string,
    private readonly poll: PollConfig,
    private readonly receiveSet: ReceiveSet,
    private readonly metrics: WriterMetrics,
  ) {
    this.logger = new Logger(`${TransmitterPoller.name} ${issuer}`);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Aborts a poll in flight and the back-off; a SET being recorded finishes first. Then reports
   * what is still pending, bounded in time. Never rejects.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      await this.loop;
      await this.reportPending();
    })();
    return this.stopped;
  }

  private get running(): boolean {
    return !this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (this.running) {
      // pass() handles its failures; this catch only keeps a bug from ending the loop.
      const next = await this.pass().catch((error: unknown) => this.failed(String(error)));
      if (next !== 'now') {
        const delay = next === 'interval' ? this.poll.intervalMs : this.backoff();
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  /** One poll request and its SETs. Every failure becomes a back-off. */
  private async pass(): Promise<Next> {
    const request = this.nextRequest();
    let response: PollResponse;
    try {
      response = await requestSets(this.poll, request, this.stopping.signal);
      this.metrics.ssfPolls.add(1, { transmitter: this.issuer, outcome: 'ok' });
    } catch (error) {
      if (!this.running) {
        return 'interval';
      }
      this.metrics.ssfPolls.add(1, { transmitter: this.issuer, outcome: 'failed' });
      return this.failed(error instanceof PollFailedError ? error.message : String(error));
    }
    this.reported(request);
    const outcomes = await this.receiveAll(response.sets);
    const unrecorded = outcomes.filter((o) => o === 'outage' || o === 'failed').length;
    if (unrecorded > 0) {
      return this.failed(`${unrecorded} SET(s) not recorded, to be delivered again`);
    }
    if (this.failures > 0) {
      this.logger.log(`polling recovered after ${this.failures} failed attempt(s)`);
      this.failures = 0;
    }
    // RFC 8936: moreAvailable means the transmitter holds more right now: drain without waiting.
    return response.moreAvailable && outcomes.length > 0 ? 'now' : 'interval';
  }

  /** What this pass reports: everything learnt since the transmitter last heard from us. */
  private nextRequest(): PollRequest {
    return {
      ack: [...this.acks],
      setErrs: Object.fromEntries(this.setErrs),
      maxEvents: this.poll.maxEvents,
      returnImmediately: true,
    };
  }

  /**
   * The last word to the transmitter (RFC 8936 §2.4.2, acknowledge-only): the acks and setErrs
   * that no poll carried yet. Without it, SETs committed just before a stop would be delivered
   * again after the restart (harmless, they are duplicates, but work for nothing). Sent only when
   * something is pending, waits at most {@link FINAL_REPORT_TIMEOUT_MS}, and a failure only
   * means that redelivery.
   */
  private async reportPending(): Promise<void> {
    const { ack, setErrs } = this.nextRequest();
    const errors = Object.keys(setErrs).length;
    if (ack.length === 0 && errors === 0) {
      return;
    }
    const report = { ack, setErrs };
    const pending = `${ack.length} acknowledgement(s) and ${errors} error(s)`;
    const timeoutMs = Math.min(this.poll.timeoutMs, FINAL_REPORT_TIMEOUT_MS);
    try {
      await sendReport(this.poll, report, timeoutMs);
      this.reported(report);
      this.logger.debug(`reported ${pending} at stop`);
    } catch (error) {
      this.logger.warn(
        `could not report ${pending} at stop, the transmitter will deliver those SETs again: ${
          error instanceof PollFailedError ? error.message : String(error)
        }`,
      );
    }
  }

  /** The transmitter answered this request: it has our acks and errors. */
  private reported(request: Pick<PollRequest, 'ack' | 'setErrs'>): void {
    for (const jti of request.ack) {
      this.acks.delete(jti);
    }
    for (const jti of Object.keys(request.setErrs)) {
      this.setErrs.delete(jti);
    }
  }

  /**
   * Records the SETs one by one. Stops at an outage (the rest would fail the same way and stays
   * with the transmitter); carries on past a SET that failed unexpectedly, so one cannot block
   * the others.
   */
  private async receiveAll(sets: Record<string, unknown>): Promise<SetOutcome[]> {
    const outcomes: SetOutcome[] = [];
    for (const [jti, set] of Object.entries(sets)) {
      if (!this.running) {
        break; // not acknowledged: delivered again after the restart
      }
      const outcome = await this.receive(jti, set);
      outcomes.push(outcome);
      if (outcome === 'outage') {
        break;
      }
    }
    return outcomes;
  }

  private async receive(jti: string, set: unknown): Promise<SetOutcome> {
    try {
      if (typeof set !== 'string') {
        throw new SetRejectedError('invalid_request', 'the member value is not a SET (a string)');
      }
      const received = await this.receiveSet.execute(set.trim(), {
        receivedAt: new Date(),
        traceContext: {},
        polled: { issuer: this.issuer, jti },
      });
      // Only now: the revocation is committed (or was, by an earlier delivery).
      this.acks.add(jti);
      this.setErrs.delete(jti);
      return this.count(received.duplicate ? 'duplicate' : 'accepted');
    } catch (error) {
      const outcome = this.notReceived(jti, error);
      return this.count(outcome, error instanceof SetRejectedError ? error.err : undefined);
    }
  }

  private notReceived(jti: string, error: unknown): SetOutcome {
    if (error instanceof SetRejectedError) {
      // A pending ack wins: that jti committed, a conflicting redelivery must not undo it.
      if (!this.acks.has(jti)) {
        // Log the jti and why, never the SET: its claims may name a token or a person.
        this.logger.warn(
          `refused SET ${quote(jti)}, reported in setErrs as ${error.err}: ${error.description}`,
        );
        this.setErrs.set(jti, { err: error.err, description: error.description });
      }
      return 'rejected';
    }
    if (classifyFailure(error).verdict === 'retry') {
      this.logger.warn(`SET ${quote(jti)} not recorded, will be redelivered: ${String(error)}`);
      return 'outage';
    }
    // A bug (ReceiveSet turns every rejection into a SetRejectedError): there is no dead letter
    // in poll mode, and reporting it in setErrs would lose the SET for good, so it stays with
    // the transmitter and is logged loudly.
    this.logger.error(
      `SET ${quote(jti)} failed unexpectedly, will be redelivered: ${String(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
    return 'failed';
  }

  private count(outcome: SetOutcome, err?: SetErrorCode): SetOutcome {
    this.metrics.ssfPolledSets.add(1, {
      transmitter: this.issuer,
      outcome,
      ...(err !== undefined ? { err } : {}),
    });
    return outcome;
  }

  private failed(reason: string): Next {
    this.failures += 1;
    this.logger.warn(`poll failed (attempt ${this.failures}): ${reason}`);
    return 'backoff';
  }

  /** Twice the interval after the first failure, doubling, capped, with jitter. */
  private backoff(): number {
    return backoffDelay(this.failures, {
      initialMs: 2 * this.poll.intervalMs,
      capMs: Math.max(this.poll.maxBackoffMs, this.poll.intervalMs),
    });
  }
}

/** Runs one {@link TransmitterPoller} per transmitter configured with `poll`, for the app's life. */
@Injectable()
export class SsfPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pollers: TransmitterPoller[];

  constructor(
    receiveSet: ReceiveSet,
    metrics: WriterMetrics,
    @InjectConfig('sources') sources: WriterConfig['sources'],
  ) {
    this.pollers = sources.transmitters.flatMap(({ issuer, poll }) =>
      poll ? [new TransmitterPoller(issuer, poll, receiveSet, metrics)] : [],
    );
  }

  onApplicationBootstrap(): void {
    for (const poller of this.pollers) {
      poller.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.pollers.map((poller) => poller.stop()));
  }
}
