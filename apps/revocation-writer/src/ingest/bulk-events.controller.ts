import { Controller, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { EventSourceName } from '@rescind/contracts';
import { hasPermission } from '../auth/permissions';
import { InjectConfig, type WriterConfig } from '../config/config';
import {
  ConfirmationRequiredError,
  ForbiddenError,
  RescindError,
  UnsupportedMediaTypeError,
} from '../errors';
import { traceContextOf } from '../http/trace-context';
import { toProblem } from '../http/problem-details';
import { RecordRevocation } from '../write-path/record-revocation';
import type { IdentifiedRevocationCommand } from '../write-path/revocation-command';
import { IngestSourceEvent } from './ingest-source-event';
import { SourceAuthGuard, type SourceRequest } from './source-auth.guard';
import type { BulkAnswer, BulkEventOutcome } from './bulk-events';

/** The media type of one event per line (NDJSON). */
export const NDJSON = 'application/x-ndjson';

/**
 * HR and SIEM tools that revoke many subjects at once (a layoff, a compromise response) send one
 * request: `POST /v1/events/{source}/bulk`, NDJSON (one event per line) or a JSON array, at most
 * BULK_MAX_EVENTS events. Each event is validated, authorized and recorded as if it came alone,
 * and gets its own answer, in order (202, or the problem it met); the events share as few
 * transactions as possible, and a refused event fails alone. The blast-radius guard looks at the
 * whole request: more rules than BULK_CONFIRM_THRESHOLD need `?confirm=true` and a role with
 * the `ingest:bulk` permission. Signed webhooks are single events: a bulk request authenticates
 * with a bearer credential.
 */
@Controller('v1/events')
export class BulkEventsController {
  constructor(
    private readonly ingest: IngestSourceEvent,
    private readonly recordRevocation: RecordRevocation,
    @InjectConfig('bulk') private readonly bulk: WriterConfig['bulk'],
    @InjectConfig('rules') private readonly rules: WriterConfig['rules'],
  ) {}

  @Post(':source/bulk')
  @HttpCode(200)
  @UseGuards(SourceAuthGuard)
  async receive(
    @Req() request: SourceRequest,
    @Param('source') source: EventSourceName,
    @Query('confirm') confirm: string | undefined,
  ): Promise<BulkAnswer> {
    const receivedAt = new Date();
    if (request.webhookId !== undefined) {
      throw new RescindError(
        'malformed_webhook',
        'a bulk request is not a webhook delivery: send it with a bearer credential, or sign each event alone',
      );
    }
    const bodies = this.events(request);
    const traceContext = traceContextOf(request);
    const outcomes = new Array<BulkEventOutcome | undefined>(bodies.length);
    const prepared: Array<{ index: number; command: IdentifiedRevocationCommand }> = [];
    bodies.forEach((body, index) => {
      try {
        if (body instanceof Error) {
          throw body;
        }
        prepared.push({
          index,
          command: this.ingest.prepare({
            source,
            body,
            principal: request.principal!,
            receivedAt,
            traceContext,
          }),
        });
      } catch (error) {
        outcomes[index] = failed(index, idOf(body), error);
      }
    });
    this.guardBlastRadius(request, prepared, confirm);
    const recorded = await this.recordRevocation.executeMany(prepared.map((p) => p.command));
    recorded.forEach((outcome, i) => {
      const { index, command } = prepared[i]!;
      outcomes[index] = outcome.ok
        ? { index, id: command.eventId, status: 202, result: outcome.value }
        : failed(index, command.eventId, outcome.error);
    });
    const results = outcomes.map((o, index) => o ?? failed(index, null, new Error('not run')));
    const accepted = results.filter((r) => r.status === 202);
    // Nothing stored and all of it worth retrying (PostgreSQL away): the request as a whole is a 503.
    if (accepted.length === 0 && results.every((r) => r.problem?.retriable === true)) {
      const first = recorded.find((o) => !o.ok)?.error;
      throw first instanceof Error ? first : new Error('nothing was recorded');
    }
    return {
      accepted: accepted.filter((r) => r.result?.duplicate !== true).length,
      duplicates: accepted.filter((r) => r.result?.duplicate === true).length,
      failed: results.length - accepted.length,
      results,
    };
  }

  /** The request's events, parsed; a line that is not JSON stands as its error. */
  private events(request: SourceRequest): Array<unknown> {
    const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    let events: unknown[];
    if (type === NDJSON) {
      const text = typeof request.body === 'string' ? request.body : '';
      events = text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.length > 0)
        .map((line, i) => {
          try {
            return JSON.parse(line) as unknown;
          } catch {
            return new RescindError('malformed_json', `line ${i + 1} is not JSON`);
          }
        });
    } else if (type === 'application/json') {
      if (!Array.isArray(request.body)) {
        throw new RescindError(
          'invalid_event',
          'a bulk request in application/json is an array of events',
        );
      }
      events = request.body as unknown[];
    } else {
      throw new UnsupportedMediaTypeError(
        `${NDJSON} or application/json`,
        request.headers['content-type'],
      );
    }
    if (events.length === 0 || events.length > this.bulk.maxEvents) {
      throw new RescindError(
        'bulk_size',
        `a bulk request carries 1 to ${this.bulk.maxEvents} events (BULK_MAX_EVENTS); this one has ${events.length}`,
      );
    }
    return events;
  }

  /** More rules in this request than BULK_CONFIRM_THRESHOLD need confirm and `ingest:bulk`. */
  private guardBlastRadius(
    request: SourceRequest,
    prepared: ReadonlyArray<{ command: IdentifiedRevocationCommand }>,
    confirm: string | undefined,
  ): void {
    const rules = prepared.reduce(
      (n, { command }) => n + command.rules.length + (command.reinstate?.length ?? 0),
      0,
    );
    if (rules <= this.rules.bulkConfirmThreshold) {
      return;
    }
    if (!hasPermission(request.principal!, 'ingest:bulk')) {
      throw new ForbiddenError(
        `${rules} rules in one bulk request exceed ${this.rules.bulkConfirmThreshold}; role "${request.principal!.role}" may not send that many at once`,
      );
    }
    if (confirm !== 'true') {
      throw new ConfirmationRequiredError(
        `${rules} rules in one bulk request exceed ${this.rules.bulkConfirmThreshold} (BULK_CONFIRM_THRESHOLD); repeat with ?confirm=true`,
      );
    }
  }
}

function idOf(body: unknown): string | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : null;
}

function failed(index: number, id: string | null, error: unknown): BulkEventOutcome {
  const problem = toProblem(error);
  return { index, id, status: problem.status, problem };
}
