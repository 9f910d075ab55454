import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Hands every error of an input-topic handler back to KafkaIngestServer as it was thrown.
 *
 * Without it Nest's RPC exception handler replaces anything that is not an `RpcException` with
 * `{ status: 'error', message: 'Internal server error' }`: the error's `code` and `retriable`
 * flag are gone, and the server could no longer tell a poison message (dead-letter it) from a
 * PostgreSQL outage (retry, never dead-letter). Deciding is the server's job, in one place.
 */
@Catch()
export class RethrowToTransport implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
