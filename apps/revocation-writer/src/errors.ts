/**
 * Errors with a stable `code` and a `retriable` flag. HTTP maps them to RFC 9457 problem
 * details; Kafka consumers use `retriable` to choose between retry and dead-letter.
 */
export class RescindError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retriable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  /** JSON Pointer (RFC 6901) to the offending member of the body. */
  pointer: string;
  detail: string;
}

/** The body is well-formed JSON but does not satisfy the event schema. */
export class InvalidEventError extends RescindError {
  constructor(readonly errors: FieldProblem[]) {
    super(
      'invalid_event',
      `invalid event: ${errors.map((e) => `${e.pointer || '/'} ${e.detail}`).join('; ')}`,
      422,
      false,
    );
  }
}

/** The same event id arrived before with a different body. */
export class IdempotencyConflictError extends RescindError {
  constructor(source: string, eventId: string) {
    super(
      'idempotency_conflict',
      `event ${JSON.stringify(eventId)} from source "${source}" was already processed with a different body`,
      409,
      false,
    );
  }
}

/** PostgreSQL cannot be reached: nothing was stored, try again later. */
export class StorageUnavailableError extends RescindError {
  constructor(cause: unknown) {
    super(
      'storage_unavailable',
      'the revocation store is unavailable; nothing was stored',
      503,
      true,
    );
    this.cause = cause;
  }
}

/** Authenticated, but the role does not allow this. */
export class ForbiddenError extends RescindError {
  constructor(message: string) {
    super('forbidden', message, 403, false);
  }
}

/** A broad or bulk revocation was asked for without `confirm: true`. */
export class ConfirmationRequiredError extends RescindError {
  constructor(message: string) {
    super('confirmation_required', message, 422, false);
  }
}

/** No such rule (or other resource). */
export class NotFoundError extends RescindError {
  constructor(message: string) {
    super('not_found', message, 404, false);
  }
}

export class UnsupportedMediaTypeError extends RescindError {
  constructor(expected: string, got: string | undefined) {
    super(
      'unsupported_media_type',
      `expected Content-Type ${expected}, got ${got === undefined ? 'none' : JSON.stringify(got)}`,
      415,
      false,
    );
  }
}

export class UnauthenticatedError extends RescindError {
  constructor(message = 'a valid bearer token is required') {
    super('unauthenticated', message, 401, false);
  }
}

// SQLSTATE classes that mean "the database is not there right now", not "your data is wrong":
// 08 connection exception, 53 insufficient resources, 57P operator intervention (shutdown,
// cannot connect now), 40001/40P01 serialization failure and deadlock (retry).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|40001|40P01)/;
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end|canceling statement due to statement timeout/i;

/** Does this error from pg/TypeORM mean the database is unreachable (retry later)? */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))
    ) {
      return true;
    }
    if (UNAVAILABLE_MESSAGES.test(e.message)) {
      return true;
    }
    const driverError = (e as { driverError?: unknown }).driverError;
    e = driverError instanceof Error ? driverError : e.cause;
  }
  return false;
}
