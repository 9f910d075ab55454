import type { RevocationConsumer } from '../consumer';
import {
  createRevocationEnforcer,
  type RevocationDenial,
  type RevocationEnforcementOptions,
} from './enforcement';

/**
 * What {@link revocationMiddleware} needs of a response: the part of `node:http`'s
 * `ServerResponse` that Express's `res` inherits.
 *
 * @example
 * const response: RevocationMiddlewareResponse = res; // an Express res or a node:http ServerResponse
 */
export interface RevocationMiddlewareResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(chunk: string): unknown;
}

/**
 * A Connect/Express-style middleware, `(req, res, next)`.
 *
 * @example
 * const middleware: RevocationMiddleware<IncomingMessage> = revocationMiddleware(consumer);
 */
export type RevocationMiddleware<TRequest extends object> = (
  request: TRequest,
  response: RevocationMiddlewareResponse,
  next: (error?: unknown) => void,
) => void;

function answer(response: RevocationMiddlewareResponse, denial: RevocationDenial): void {
  response.statusCode = denial.status;
  for (const name in denial.headers) {
    response.setHeader(name, denial.headers[name]!);
  }
  response.end(denial.payload);
}

/**
 * Express (4 and 5), Connect or plain `node:http` middleware that checks the request's verified
 * token claims against the local deny-list. Mount it after the authentication step. It calls
 * `next()` for a request that may pass; otherwise it answers itself and does not call `next`:
 * 401 with `WWW-Authenticate: Bearer error="invalid_token", error_description="token revoked"`
 * for a revoked token, 503 with `Retry-After` while the list is stale under `fail-closed` or not
 * loaded yet, 401 `WWW-Authenticate: Bearer` when the request carries no claims. Bodies are
 * RFC 9457 problem details. An exception in `claimsFrom` goes to `next(error)`.
 *
 * Claims are read from `request.user` (Passport, express-jwt with `requestProperty: 'user'`)
 * unless `claimsFrom` says otherwise.
 *
 * @example
 * // Express
 * import { createRevocationConsumer, revocationMiddleware } from '@rescind/revocation-consumer';
 *
 * const revocations = createRevocationConsumer({ brokers: ['kafka:9092'] });
 * await revocations.start();
 * app.use('/api', passport.authenticate('jwt', { session: false }), revocationMiddleware(revocations));
 *
 * @example
 * // node:http, claims put on request.auth by your own JWT verification
 * const checkRevocation = revocationMiddleware<IncomingMessage & { auth?: JWTPayload }>(revocations, {
 *   claimsFrom: (request) => request.auth,
 * });
 * createServer(async (request, response) => {
 *   request.auth = await verify(request);
 *   checkRevocation(request, response, (error) => (error ? fail(response, error) : serve(request, response)));
 * });
 */
export function revocationMiddleware<TRequest extends object = object>(
  consumer: RevocationConsumer,
  options: RevocationEnforcementOptions<TRequest> = {},
): RevocationMiddleware<TRequest> {
  const enforce = createRevocationEnforcer(consumer, options);
  return (request, response, next) => {
    let denial: RevocationDenial | undefined;
    try {
      denial = enforce(request);
    } catch (error) {
      next(error);
      return;
    }
    if (denial === undefined) {
      next();
    } else {
      answer(response, denial);
    }
  };
}
