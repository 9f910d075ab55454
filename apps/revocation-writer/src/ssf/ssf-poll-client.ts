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
 * unreachable, too slow, answers non-2xx, or answers something that is not a poll response.
 * The authorization value goes in the header only, and no error message repeats it.
 */
export async function requestSets(
  poll: PollConfig,
  body: PollRequest,
  stop: AbortSignal,
): Promise<PollResponse> {
  let response: Response;
  try {
    response = await fetch(poll.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(poll.authorization !== undefined ? { authorization: poll.authorization } : {}),
      },
      body: JSON.stringify(body),
      // A redirect could carry the Authorization header elsewhere: refuse to follow one.
      redirect: 'error',
      signal: AbortSignal.any([stop, AbortSignal.timeout(poll.timeoutMs)]),
    });
  } catch (error) {
    throw new PollFailedError(
      (error as { name?: unknown } | null)?.name === 'TimeoutError'
        ? `no answer within ${poll.timeoutMs} ms`
        : `transmitter unreachable: ${reasonOf(error)}`,
    );
  }
  if (!response.ok) {
    throw new PollFailedError(`transmitter answered ${response.status}${await errorOf(response)}`);
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    throw new PollFailedError(`response is not JSON: ${reasonOf(error)}`);
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

/** The RFC 8936 error body `{"err", "description"}` when there is one; never the raw body. */
async function errorOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as {
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
