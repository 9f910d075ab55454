import { z } from 'zod';
import type { PollConfig } from '../config/config';
import type { SetErrorCode } from './set-verifier';

/** An error reported back for one SET (RFC 8936 `setErrs` member, RFC 8935 §2.3 codes). */
export interface SetErr {
  err: SetErrorCode;
  description: string;
}

/** The body of an RFC 8936 poll request: what we report, and what we ask for. */
export interface PollRequest {
  /** `jti`s whose SETs are durably recorded: the transmitter may forget them. */
  ack: string[];
  /** SETs that can never be accepted, with why: the transmitter stops delivering them. */
  setErrs: Record<string, SetErr>;
  maxEvents: number;
  /** Interval polling, not long polling: the loop paces itself. */
  returnImmediately: true;
}

/**
 * The response: `sets` maps each `jti` to its SET. Values are checked one by one later (one bad
 * member is reported in `setErrs`, it does not make the whole response unusable).
 */
const PollResponseSchema = z.object({
  sets: z.record(z.string(), z.unknown()),
  moreAvailable: z.boolean().default(false),
});
export type PollResponse = z.infer<typeof PollResponseSchema>;

/** The poll request did not produce a usable response; nothing in it was processed. */
export class PollFailedError extends Error {
  override readonly name = 'PollFailedError';
}

/**
 * One RFC 8936 poll request. Rejects with {@link PollFailedError} when the transmitter is
 * unreachable, too slow, answers non-2xx, answers something that is not `application/json`
 * (RFC 8936 §2.3), larger than `maxResponseBytes`, or not a poll response.
 * The authorization value goes in the header only, and no error message repeats it.
 */
export async function requestSets(
  poll: PollConfig,
  body: PollRequest,
  stop: AbortSignal,
): Promise<PollResponse> {
  const timeoutMs = poll.timeoutMs;
  const deadline = new Deadline(stop, timeoutMs);
  try {
    return await pollResponse(poll, await post(poll, body, deadline.signal, timeoutMs), timeoutMs);
  } finally {
    deadline.clear();
  }
}

/** Reads and checks the answer to a poll request, under the request's deadline. */
async function pollResponse(
  poll: PollConfig,
  response: Response,
  timeoutMs: number,
): Promise<PollResponse> {
  if (!response.ok) {
    throw new PollFailedError(
      `transmitter answered ${response.status}${await errorOf(response, poll.maxResponseBytes, timeoutMs)}`,
    );
  }
  const mediaType = mediaTypeOf(response);
  if (mediaType !== 'application/json') {
    await discard(response);
    throw new PollFailedError(
      mediaType === null
        ? 'response has no Content-Type, application/json expected (RFC 8936 §2.3)'
        : `response is ${JSON.stringify(mediaType.slice(0, 100))}, not application/json (RFC 8936 §2.3)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(await readCapped(response, poll.maxResponseBytes, timeoutMs));
  } catch (error) {
    throw error instanceof PollFailedError
      ? error
      : new PollFailedError(`response is not JSON: ${reasonOf(error)}`);
  }
  const parsed = PollResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new PollFailedError(
      `response is not an RFC 8936 poll response: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(body)'} ${i.message}`)
        .join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * An acknowledge-only request (RFC 8936 §2.2 `maxEvents` 0, §2.4.2): reports `ack` and `setErrs`
 * and asks for no SETs, answered at once (`returnImmediately`, or it would be a long poll).
 * Resolves once the transmitter answered 2xx: it has the report. The body is not read: SETs in
 * it (a transmitter ignoring `maxEvents` 0) are not acknowledged, so they come again later.
 * Rejects with {@link PollFailedError} like {@link requestSets}, after `timeoutMs` at the latest.
 */
export async function sendReport(
  poll: PollConfig,
  report: Pick<PollRequest, 'ack' | 'setErrs'>,
  timeoutMs: number,
): Promise<void> {
  const body: PollRequest = { ...report, maxEvents: 0, returnImmediately: true };
  const deadline = new Deadline(new AbortController().signal, timeoutMs);
  try {
    const response = await post(poll, body, deadline.signal, timeoutMs);
    if (!response.ok) {
      throw new PollFailedError(
        `transmitter answered ${response.status}${await errorOf(response, poll.maxResponseBytes, timeoutMs)}`,
      );
    }
    await discard(response);
  } finally {
    deadline.clear();
  }
}

/**
 * The signal of one request, response body included: aborted at `stop`, or with a
 * `TimeoutError` after `timeoutMs`.
 *
 * Not `AbortSignal.any([stop, AbortSignal.timeout(ms)])`: on Node 20 the signal that combines
 * them can lose its sources in a garbage collection and then never aborts (nodejs/node#55428,
 * nodejs/undici#4068), and a poll the transmitter never answers hangs the poller for good. Here
 * the timer holds the controller, so nothing the request needs is only weakly held.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onStop = (): void => this.controller.abort(this.stop.reason);

  constructor(
    private readonly stop: AbortSignal,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(
      () =>
        this.controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    if (stop.aborted) {
      this.onStop();
    } else {
      stop.addEventListener('abort', this.onStop, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The request is over: no timer left running, no listener left on a long-lived signal. */
  clear(): void {
    clearTimeout(this.timer);
    this.stop.removeEventListener('abort', this.onStop);
  }
}

/** POSTs a poll request; the signal (stop or deadline) also ends reading the response body. */
async function post(
  poll: PollConfig,
  body: PollRequest,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(poll.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(poll.authorization !== undefined ? { authorization: poll.authorization } : {}),
      },
      body: JSON.stringify(body),
      // A redirect could carry the Authorization header elsewhere: refuse to follow one.
      redirect: 'error',
      signal,
    });
  } catch (error) {
    throw new PollFailedError(
      isTimeout(error)
        ? `no answer within ${timeoutMs} ms`
        : `transmitter unreachable: ${reasonOf(error)}`,
    );
  }
}

/**
 * The body as text, read as a stream and abandoned as soon as it passes `limit` bytes (after
 * content decoding, so a compressed body cannot expand past it either). A declared
 * Content-Length over the limit fails before reading anything.
 */
async function readCapped(response: Response, limit: number, timeoutMs: number): Promise<string> {
  const tooLarge = () => new PollFailedError(`response larger than ${limit} bytes`);
  const declared = Number(response.headers.get('content-length'));
  if (!response.headers.has('content-encoding') && declared > limit) {
    await discard(response);
    throw tooLarge();
  }
  if (response.body === null) {
    return '';
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = await reader.read().catch((error: unknown) => {
      throw new PollFailedError(
        isTimeout(error)
          ? `no answer within ${timeoutMs} ms`
          : `response cut off: ${reasonOf(error)}`,
      );
    });
    if (chunk.done) {
      break;
    }
    const bytes = chunk.value as Uint8Array; // fetch bodies are byte streams
    size += bytes.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(bytes);
  }
  // As Response.json() would: UTF-8, a byte order mark dropped.
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** The media type of the response, lower case and without parameters; null without the header. */
function mediaTypeOf(response: Response): string | null {
  const contentType = response.headers.get('content-type');
  return contentType === null ? null : contentType.split(';')[0]!.trim().toLowerCase();
}

/** Lets the connection go without reading a body nobody needs. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

function isTimeout(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'TimeoutError';
}

/**
 * The RFC 8936 error body `{"err", "description"}` when there is one; never the raw body. Read
 * under a small cap of its own: an error body has no reason to be large.
 */
async function errorOf(response: Response, limit: number, timeoutMs: number): Promise<string> {
  const body = (await readCapped(response, Math.min(limit, 16_384), timeoutMs)
    .then((text) => JSON.parse(text) as unknown)
    .catch(() => null)) as {
    err?: unknown;
    description?: unknown;
  } | null;
  if (typeof body?.err !== 'string') {
    return '';
  }
  const description = typeof body.description === 'string' ? `: ${body.description}` : '';
  return ` ${JSON.stringify(`${body.err}${description}`.slice(0, 300))}`;
}

/** fetch says only "fetch failed"; the reason (refused, reset, timeout) is in its cause. */
function reasonOf(error: unknown): string {
  // Duck-typed: errors from fetch may come from another realm than this module's Error.
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  return `${String(error)}${typeof cause === 'string' ? ` (${cause})` : ''}`;
}
