import { types } from 'node:util';

/**
 * What a failure means for the request or record that met it, and so what every transport does
 * with it. failure.ts tells it for any thrown value; this file, for each code.
 *
 * - `retry`: nothing was stored and the same input may succeed later (an outage). HTTP answers
 *   503 with Retry-After; the Kafka ingest retries with back-off for as long as it lasts; a
 *   polled SET stays with its transmitter.
 * - `reject`: this input can never be processed as it is. HTTP answers 4xx; the Kafka ingest
 *   dead-letters it; a polled SET is reported in `setErrs`.
 * - `bug`: our code or our deployment is broken, which retrying the same does not fix and must
 *   not be mistaken for an outage. HTTP answers 500; the Kafka ingest dead-letters it at once.
 */
export type Verdict = 'retry' | 'reject' | 'bug';

/**
 * Every code a {@link RescindError} carries, a closed set (as jose's `JOSEErrorCode`), each
 * documented here once, with its verdict. The transports put each in their own words, in tables
 * the compiler checks for completeness: HTTP a status (`HTTP_STATUS` in http/problem-details.ts),
 * OAuth an RFC 6749 error code (oauth/oauth-exception.filter.ts).
 */
const VERDICTS = {
  /** The body (or record value) is JSON but does not satisfy the event schema. */
  invalid_event: 'reject',
  /** The record value is not JSON at all. */
  malformed_json: 'reject',
  /** An input record names a `rescind-schema-version` the writer does not read. */
  unsupported_schema_version: 'reject',
  /** The request's Content-Type is not the one the endpoint reads. */
  unsupported_media_type: 'reject',
  /** A query parameter does not satisfy its schema (the request line, not the body). */
  invalid_query: 'reject',
  /** A request header the endpoint reads is malformed. */
  invalid_header: 'reject',
  /** A Global Token Revocation request is malformed (draft-parecki §3.4.2). */
  invalid_request: 'reject',
  /** A Global Token Revocation names a subject format Rescind cannot revoke (§3.4.2). */
  unsupported_subject_format: 'reject',
  /** A SET names a subject that cannot be turned into a rule. */
  unsupported_subject: 'reject',
  /** An HR event names an employee the configured directory does not know. */
  unknown_employee: 'reject',
  /** A signed webhook lacks (or has malformed) Standard Webhooks headers. */
  malformed_webhook: 'reject',
  /** A webhook's signature does not verify. */
  invalid_webhook_signature: 'reject',
  /** A `webhook-id` accepted before arrived again with another event. */
  webhook_replay: 'reject',
  /** A bulk request carries more events than BULK_MAX_EVENTS, or none. */
  bulk_size: 'reject',
  /** The same event id arrived before with a different body. */
  idempotency_conflict: 'reject',
  /** No valid credential. */
  unauthenticated: 'reject',
  /** Authenticated, but the role does not allow this. */
  forbidden: 'reject',
  /** A broad or bulk revocation was asked for without `confirm: true`. */
  confirmation_required: 'reject',
  /** No such rule (or other resource). */
  not_found: 'reject',
  /** A reinstatement of a rule that no longer revokes anything. */
  rule_not_active: 'reject',
  /** A rule would be published as an event that enforcement points could not apply. */
  unpublishable_rule: 'reject',
  /** PostgreSQL cannot hold a value of the request (SQLSTATE class 22 or 54). */
  unstorable_input: 'reject',
  /** An integrity constraint refused the change (SQLSTATE class 23). */
  storage_conflict: 'reject',
  /** PostgreSQL cannot be reached (or cannot serve) right now: nothing was stored. */
  storage_unavailable: 'retry',
  /** Any other database error: a bug or a broken deployment. */
  internal_error: 'bug',
} as const satisfies Record<string, Verdict>;

/** The closed union of error codes: the keys of {@link VERDICTS}, where each is documented. */
export type RescindErrorCode = keyof typeof VERDICTS;

/**
 * An error with a stable `code` (see {@link RescindErrorCode}). It says what went wrong, not how
 * a transport answers it: HTTP maps the code to a status, Kafka to retry or dead-letter.
 */
export class RescindError extends Error {
  constructor(
    readonly code: RescindErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** What this failure means: retry later, reject the input, or a bug. */
  get verdict(): Verdict {
    return VERDICTS[this.code];
  }

  /** May the same request or record succeed later? */
  get retriable(): boolean {
    return this.verdict === 'retry';
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
    );
  }
}

/** The same event id arrived before with a different body. */
export class IdempotencyConflictError extends RescindError {
  constructor(source: string, eventId: string) {
    super(
      'idempotency_conflict',
      `event ${JSON.stringify(eventId)} from source "${source}" was already processed with a different body`,
    );
  }
}

/** PostgreSQL cannot be reached: nothing was stored, try again later. */
export class StorageUnavailableError extends RescindError {
  constructor(cause: unknown) {
    super('storage_unavailable', 'the revocation store is unavailable; nothing was stored');
    this.cause = cause;
  }
}

/** Authenticated, but the role does not allow this. */
export class ForbiddenError extends RescindError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** A broad or bulk revocation was asked for without `confirm: true`. */
export class ConfirmationRequiredError extends RescindError {
  constructor(message: string) {
    super('confirmation_required', message);
  }
}

/** No such rule (or other resource). */
export class NotFoundError extends RescindError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class UnsupportedMediaTypeError extends RescindError {
  constructor(expected: string, got: string | undefined) {
    super(
      'unsupported_media_type',
      `expected Content-Type ${expected}, got ${got === undefined ? 'none' : JSON.stringify(got)}`,
    );
  }
}

export class UnauthenticatedError extends RescindError {
  constructor(message = 'a valid bearer token is required') {
    super('unauthenticated', message);
  }
}

/**
 * A rule would be published as an invalidation event that does not satisfy the contract, so
 * enforcement points could not apply it. The use cases refuse such rules before anything is
 * written (naming the field of the request); this is the last check, on the event itself, before
 * the transaction commits, and means a stored rule that cannot be published (or a gap in those
 * checks): nothing was written.
 */
export class UnpublishableRuleError extends RescindError {
  constructor(
    key: string,
    readonly problems: string[],
  ) {
    super(
      'unpublishable_rule',
      `the rule ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)} cannot be published to enforcement points: ${problems.join('; ')}; nothing was written`,
    );
  }
}

/** PostgreSQL refused a value of the request (SQLSTATE class 22 or 54): retrying cannot help. */
export class UnstorableInputError extends RescindError {
  constructor(sqlState: string, reason: string, cause: unknown) {
    super(
      'unstorable_input',
      `the revocation store cannot hold a value of this request (SQLSTATE ${sqlState}: ${reason}); nothing was stored`,
    );
    this.cause = cause;
  }
}

/** An integrity constraint refused the change (SQLSTATE class 23): retrying the same cannot help. */
export class StorageConflictError extends RescindError {
  constructor(sqlState: string, reason: string, cause: unknown) {
    super(
      'storage_conflict',
      `the change conflicts with what is stored (SQLSTATE ${sqlState}: ${reason}); nothing was stored`,
    );
    this.cause = cause;
  }
}

/**
 * Any other database error (syntax, undefined table, privilege, internal error, ...): a bug or a
 * broken deployment, which retrying the request does not fix. The message carries the database's
 * own words for the log and the dead letter; HTTP answers with {@link DatabaseBugError.publicDetail}.
 */
export class DatabaseBugError extends RescindError {
  static readonly publicDetail =
    'internal error, which retrying will not fix; the request may not have been processed';

  constructor(sqlState: string, reason: string, cause: unknown) {
    super(
      'internal_error',
      `database error ${sqlState} (${reason}): a bug, which retrying will not fix`,
    );
    this.cause = cause;
  }
}

/** What a failure of PostgreSQL, or of reaching it, means for the request that met it. */
export type DatabaseFailure =
  /** Not there right now (connection, resources, shutdown, serialization, timeout): retry. */
  | 'unavailable'
  /** A value of the request cannot be stored (data exception, program limit): never retry. */
  | 'input'
  /** An integrity constraint refused the change: never retry. */
  | 'conflict'
  /** Anything else the database said: a bug, never retried as if it were an outage. */
  | 'bug';

/**
 * SQLSTATE (class or code) → what it means. First match wins, so codes come before their class.
 * Unavailable: 08 connection exception, 53 insufficient resources, 57P operator intervention
 * (shutdown, cannot connect now), 57014 statement timeout or cancel, 55P03 lock timeout, 58
 * system error (I/O), 25006 read-only transaction (connected to a standby after a failover),
 * 40001/40P01 serialization failure and deadlock. Input: 22 data exception (e.g. 22021, U+0000
 * in text), 54 program limit exceeded (e.g. an index entry over the btree maximum). Conflict:
 * 23 integrity constraint violation. Everything else is a bug.
 */
const SQLSTATES: ReadonlyArray<[RegExp, DatabaseFailure]> = [
  [/^(08|53|57P|57014|55P03|58|25006|40001|40P01)/, 'unavailable'],
  [/^(22|54)/, 'input'],
  [/^23/, 'conflict'],
];
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
// `Query runner already released`: TypeORM's, when the connection of a transaction died under it
// (a terminated backend) and the transaction's next statement or ROLLBACK still ran.
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end|canceling statement due to statement timeout|Query runner already released|connection provided by a query runner was already released|Client was closed and is not queryable/i;

/**
 * An Error of any realm: Node's own (a socket's ECONNRESET) are not `instanceof` this module's
 * Error where the module runs in a VM context of its own, as under jest.
 */
function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** An error PostgreSQL sent (pg's DatabaseError): a SQLSTATE and the server's severity. */
function sqlStateOf(error: Error): string | undefined {
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
    ? code
    : undefined;
}

/**
 * What a failure of the database (or of reaching it) means, or undefined when `error` did not
 * come from the database: the one classifier of database errors, for HTTP and Kafka alike.
 * Looks through TypeORM's wrapper (`driverError`) and `cause` chains.
 */
export function classifyDatabaseError(error: unknown): DatabaseFailure | undefined {
  return databaseFailureOf(error)?.failure;
}

function databaseFailureOf(
  error: unknown,
): { failure: DatabaseFailure; sqlState: string; reason: string } | undefined {
  for (let e: unknown = error, depth = 0; isError(e) && depth < 5; depth++) {
    if (e instanceof RescindError) {
      // Already classified (a use case may have done it): it says what it means.
      const failure = CLASSIFIED.find(([type]) => e instanceof type)?.[1];
      return failure === undefined ? undefined : { failure, sqlState: '', reason: '' };
    }
    const sqlState = sqlStateOf(e);
    if (sqlState !== undefined) {
      const failure = SQLSTATES.find(([pattern]) => pattern.test(sqlState))?.[1] ?? 'bug';
      return { failure, sqlState, reason: e.message };
    }
    const code = (e as { code?: unknown }).code;
    if (
      (typeof code === 'string' && UNAVAILABLE_NODE_CODES.has(code)) ||
      UNAVAILABLE_MESSAGES.test(e.message)
    ) {
      return { failure: 'unavailable', sqlState: '', reason: '' };
    }
    const driverError = (e as { driverError?: unknown }).driverError;
    e = isError(driverError) ? driverError : e.cause;
  }
  return undefined;
}

const CLASSIFIED: ReadonlyArray<
  [abstract new (...args: never[]) => RescindError, DatabaseFailure]
> = [
  [StorageUnavailableError, 'unavailable'],
  [UnstorableInputError, 'input'],
  [StorageConflictError, 'conflict'],
  [DatabaseBugError, 'bug'],
];

/** Does this error from pg/TypeORM mean the database is unreachable (retry later)? */
export function isDatabaseUnavailable(error: unknown): boolean {
  return classifyDatabaseError(error) === 'unavailable';
}

/**
 * The RescindError a database error means (unavailable: retry; input or conflict: reject;
 * anything else: a bug), or undefined for an error that did not come from the database.
 * failure.ts classifies every thrown value through it, for HTTP, Kafka and SSF alike.
 */
export function databaseError(error: unknown): RescindError | undefined {
  if (error instanceof RescindError) {
    return classifyDatabaseError(error) === undefined ? undefined : error;
  }
  const found = databaseFailureOf(error);
  switch (found?.failure) {
    case undefined:
      return undefined;
    case 'unavailable':
      return new StorageUnavailableError(error);
    case 'input':
      return new UnstorableInputError(found.sqlState, found.reason, error);
    case 'conflict':
      return new StorageConflictError(found.sqlState, found.reason, error);
    case 'bug':
      return new DatabaseBugError(found.sqlState, found.reason, error);
  }
}
