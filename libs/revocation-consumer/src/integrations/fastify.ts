import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { RevocationConsumer } from '../consumer';
import {
  createRevocationEnforcer,
  type RevocationDenial,
  type RevocationEnforcementOptions,
} from './enforcement';

/**
 * A callback-style Fastify hook; fits `onRequest`, `preValidation` and `preHandler`, as an
 * application hook (`addHook`) or in a route's options.
 *
 * @example
 * const hook: RevocationFastifyHook = revocationFastifyHook(consumer);
 * app.addHook('preHandler', hook);
 */
export type RevocationFastifyHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

/**
 * A Fastify (4 and 5) hook that checks the request's verified token claims against the local
 * deny-list. Register it after the authentication step (e.g. `@fastify/jwt`'s `jwtVerify` in an
 * `onRequest` hook): as a `preHandler`, or after it in the same hook list. A request that may
 * pass continues; otherwise the hook answers and the handler does not run: 401 with
 * `WWW-Authenticate: Bearer error="invalid_token", error_description="token revoked"` for a
 * revoked token, 503 with `Retry-After` while the list is stale under `fail-closed` or not loaded
 * yet, 401 `WWW-Authenticate: Bearer` when the request carries no claims. Bodies are RFC 9457
 * problem details. An exception in `claimsFrom` goes to Fastify's error handler.
 *
 * Claims are read from `request.user` (what `@fastify/jwt` sets) unless `claimsFrom` says
 * otherwise. Only Fastify's types are imported: the library does not depend on Fastify.
 *
 * @example
 * import { createRevocationConsumer, revocationFastifyHook } from '@rescind/revocation-consumer';
 *
 * const revocations = createRevocationConsumer({ brokers: ['kafka:9092'] });
 * app.addHook('onReady', async () => {
 *   await revocations.start();
 *   await revocations.ready();
 * });
 * app.addHook('onClose', () => revocations.stop());
 * app.addHook('onRequest', (request) => request.jwtVerify());
 * app.addHook('preHandler', revocationFastifyHook(revocations));
 *
 * @example
 * // Only some routes, with the header's kid for key rules:
 * app.get('/api/orders', {
 *   onRequest: [authenticate],
 *   preHandler: revocationFastifyHook(revocations, {
 *     claimsFrom: (request: FastifyRequest & { auth?: VerifiedJwt }) =>
 *       request.auth && { ...request.auth.payload, kid: request.auth.protectedHeader.kid },
 *   }),
 * }, listOrders);
 */
export function revocationFastifyHook(
  consumer: RevocationConsumer,
  options: RevocationEnforcementOptions<FastifyRequest> = {},
): RevocationFastifyHook {
  const enforce = createRevocationEnforcer(consumer, options);
  return (request, reply, done) => {
    let denial: RevocationDenial | undefined;
    try {
      denial = enforce(request);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (denial === undefined) {
      done();
    } else {
      // Answering from a callback hook: send, and do not call done (Fastify "Hooks" docs).
      void reply.code(denial.status).headers(denial.headers).send(denial.payload);
    }
  };
}
