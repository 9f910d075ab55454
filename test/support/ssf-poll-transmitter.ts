import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TestTransmitter } from './ssf-transmitter';

/** The body of an RFC 8936 poll request, as the transmitter received it. */
export interface PollRequestBody {
  ack?: string[];
  setErrs?: Record<string, { err: string; description: string }>;
  maxEvents?: number;
  returnImmediately?: boolean;
}

/** One poll request and how it was answered. */
export interface RecordedPoll {
  index: number;
  authorization: string | undefined;
  body: PollRequestBody;
  status: number;
  /** The `jti`s returned in `sets` (none when the request was failed). */
  delivered: string[];
  moreAvailable: boolean;
}

/**
 * How the next poll requests fail, before anything in them is processed: a 500, a 200 whose body
 * is not JSON, or no answer at all (status 0 in the record). `oversized` and `text-plain` answer
 * 200 with the SETs a good answer would carry (recorded as delivered), the first padded past
 * {@link PollTransmitter.oversizedBytes}, the second as `text/plain`: only a receiver that enforces
 * its size cap and the media type refuses them.
 */
export type PollFault = 'error' | 'malformed' | 'hang' | 'oversized' | 'text-plain';

/**
 * A Shared Signals transmitter offering RFC 8936 poll delivery over real HTTP. It keeps every
 * published SET until the receiver acknowledges it or reports it in `setErrs`, and returns the
 * oldest `maxEvents` of them on each poll: an unacknowledged SET is delivered again. Every request
 * is recorded, so tests can assert what was acknowledged when.
 */
export class PollTransmitter {
  readonly polls: RecordedPoll[] = [];
  /** Each acknowledgement received, with the index of the poll that carried it. */
  readonly acks: Array<{ jti: string; poll: number }> = [];
  /** Errors reported by the receiver, by `jti`. */
  readonly setErrs = new Map<string, { err: string; description: string }>();
  /**
   * Awaited for each acknowledged `jti` before the poll is answered: lets a test check that the
   * receiver's transaction had committed when it acknowledged.
   */
  onAck: ((jti: string) => Promise<void>) | null = null;
  /** Called with the `jti`s of each response just before it is sent. */
  onDeliver: ((jtis: string[]) => void) | null = null;
  /** At least how large an `oversized` answer is (bytes). */
  oversizedBytes = 1024 * 1024;
  private readonly outstanding = new Map<string, unknown>();
  private readonly published = new Map<string, unknown>();
  private readonly faults: PollFault[] = [];
  private port = 0;
  private readonly server: Server = createServer((request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });

  private constructor(
    private readonly signer: TestTransmitter,
    private readonly authorization: string | undefined,
  ) {}

  /** Starts the poll endpoint; with `authorization`, other requests get 401. */
  static async start(
    signer: TestTransmitter,
    options: { authorization?: string } = {},
  ): Promise<PollTransmitter> {
    const transmitter = new PollTransmitter(signer, options.authorization);
    await new Promise<void>((resolve) => transmitter.server.listen(0, '127.0.0.1', resolve));
    transmitter.port = (transmitter.server.address() as { port: number }).port;
    return transmitter;
  }

  /** The TCP port (to put a proxy in front). */
  get listenPort(): number {
    return this.port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}/ssf/poll`;
  }

  /** Signs a SET and queues it for delivery; returns its `jti`. */
  async publish(
    events: Record<string, Record<string, unknown>>,
    options: Parameters<TestTransmitter['sign']>[1] = {},
  ): Promise<string> {
    const jti = options.jti ?? randomUUID();
    this.enqueue({ [jti]: await this.signer.sign(events, { ...options, jti }) });
    return jti;
  }

  /** Queues SETs (or anything else) under the given member names, all visible to the same poll. */
  enqueue(sets: Record<string, unknown>): void {
    for (const [jti, set] of Object.entries(sets)) {
      this.outstanding.set(jti, set);
      this.published.set(jti, set);
    }
  }

  /** Delivers an acknowledged SET again, as a transmitter does when it lost the ack. */
  redeliver(jti: string): void {
    if (!this.published.has(jti)) {
      throw new Error(`never published: ${jti}`);
    }
    this.outstanding.set(jti, this.published.get(jti));
  }

  /** The next polls fail this way, one fault per poll. */
  failNext(...faults: PollFault[]): void {
    this.faults.push(...faults);
  }

  ackedIn(jti: string): number[] {
    return this.acks.filter((a) => a.jti === jti).map((a) => a.poll);
  }

  deliveredIn(jti: string): number[] {
    return this.polls.filter((p) => p.delivered.includes(jti)).map((p) => p.index);
  }

  isOutstanding(jti: string): boolean {
    return this.outstanding.has(jti);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) {
      chunks.push(chunk as Buffer);
    }
    let body: PollRequestBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PollRequestBody;
    } catch {
      body = {};
    }
    const poll: RecordedPoll = {
      index: this.polls.length,
      authorization: request.headers.authorization,
      body,
      status: 0,
      delivered: [],
      moreAvailable: false,
    };
    this.polls.push(poll);
    const answer = (status: number, payload: unknown, contentType = 'application/json'): void => {
      poll.status = status;
      // No Content-Length: the receiver only learns the size by reading the (chunked) body.
      response.writeHead(status, { 'content-type': contentType });
      response.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };

    if (this.authorization !== undefined && poll.authorization !== this.authorization) {
      return answer(401, { err: 'authentication_failed', description: 'who are you?' });
    }
    const fault = this.faults.shift();
    if (fault === 'error') {
      return answer(500, { err: 'internal', description: 'the transmitter is having a bad day' });
    }
    if (fault === 'malformed') {
      return answer(200, '{"sets": "not an object"');
    }
    if (fault === 'hang') {
      return; // the receiver's timeout has to end this request
    }
    if (fault === 'oversized' || fault === 'text-plain') {
      // A well-formed poll response (an unknown member is ignored), unacceptable only for its size
      // or its media type. The report in the request is not applied, like the other faults.
      const { sets, moreAvailable } = this.take(poll, body);
      return fault === 'oversized'
        ? answer(200, { sets, moreAvailable, padding: 'x'.repeat(this.oversizedBytes) })
        : answer(200, { sets, moreAvailable }, 'text/plain');
    }
    await this.applyReport(body, poll.index);
    answer(200, this.take(poll, body));
  }

  /** The oldest `maxEvents` outstanding SETs, recorded as delivered by this poll. */
  private take(
    poll: RecordedPoll,
    body: PollRequestBody,
  ): { sets: Record<string, unknown>; moreAvailable: boolean } {
    const max = body.maxEvents ?? 100;
    const sets = Object.fromEntries([...this.outstanding].slice(0, max));
    poll.delivered = Object.keys(sets);
    poll.moreAvailable = this.outstanding.size > max;
    this.onDeliver?.(poll.delivered);
    return { sets, moreAvailable: poll.moreAvailable };
  }

  /** RFC 8936: acknowledged and failed SETs are no longer delivered. */
  private async applyReport(body: PollRequestBody, index: number): Promise<void> {
    for (const jti of body.ack ?? []) {
      await this.onAck?.(jti);
      this.acks.push({ jti, poll: index });
      this.outstanding.delete(jti);
    }
    for (const [jti, error] of Object.entries(body.setErrs ?? {})) {
      this.setErrs.set(jti, error);
      this.outstanding.delete(jti);
    }
  }
}
