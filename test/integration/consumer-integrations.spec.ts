import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpException,
  Injectable,
  Module,
  Req,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createRevocationConsumer,
  type RevocationConsumer,
  type RevocationConsumerOptions,
  revocationFastifyHook,
  revocationMiddleware,
  type RevocationMiddlewareResponse,
  type TokenClaims,
} from '@rescind/revocation-consumer';
import {
  InjectRevocationConsumer,
  REVOCATION_CONSUMER,
  RevocationGuard,
  RevocationModule,
} from '@rescind/revocation-consumer/nest';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { KafkaBroker } from '../../tools/kafka/broker';
import { startOwnBroker } from '../support/kafka';
import { createTestSchema, type TestSchema } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter, startWriter } from '../support/writer';

const ISS = 'https://idp.integrations.test';
const REVOKED_HEADER = 'Bearer error="invalid_token", error_description="token revoked"';
const RETRY_AFTER_SECONDS = 3;
/** The fake upstream authentication step reads the "verified" claims from this header. */
const CLAIMS_HEADER = 'x-test-claims';

type WithUser = { user?: unknown };

/** Stands in for a Passport/jose JWT step: puts the claims on request.user, if there are any. */
function fakeAuthenticate(request: { headers: IncomingMessage['headers'] } & WithUser): void {
  const claims = request.headers[CLAIMS_HEADER];
  if (typeof claims === 'string') {
    request.user = JSON.parse(claims) as TokenClaims;
  }
}

@Injectable()
class FakeJwtAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    fakeAuthenticate(context.switchToHttp().getRequest<FastifyRequest & WithUser>());
    return true;
  }
}

@Controller()
class ResourceController {
  constructor(@InjectRevocationConsumer() private readonly revocations: RevocationConsumer) {}

  @Get('resource')
  @UseGuards(FakeJwtAuthGuard, RevocationGuard)
  resource(@Req() request: WithUser): { user: unknown } {
    return { user: request.user };
  }

  @Get('revocations')
  status(): { ready: boolean } {
    return { ready: this.revocations.status().ready };
  }
}

const POINTS = [
  'RevocationGuard (NestJS on Fastify)',
  'revocationMiddleware (node:http)',
  'revocationFastifyHook (preHandler)',
  'revocationFastifyHook (onRequest)',
] as const;
type Point = (typeof POINTS)[number];

interface Answer {
  /** The point (or URL) asked: failures then say which integration answered wrongly. */
  point: string;
  status: number;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
  contentType: string | null;
  body: Record<string, unknown>;
}

describe('revocation consumer integrations: NestJS guard, Express-style middleware, Fastify hook', () => {
  let broker: KafkaBroker;
  let schema: TestSchema;
  let writer: RunningWriter;
  let nest: NestFastifyApplication;
  /** The consumer RevocationModule created for the Nest app. */
  let nestConsumer: RevocationConsumer;
  /** One consumer shared by the middleware and the Fastify hooks, as in one process. */
  let consumer: RevocationConsumer;
  let unstarted: RevocationConsumer;
  const fastifies: FastifyInstance[] = [];
  let readyWhenListening: { before: boolean; ready: boolean; awaited: number };
  const urls = {} as Record<Point, string>;
  const notReadyUrls: string[] = [];
  const servers: Server[] = [];

  const consumerOptions = (): RevocationConsumerOptions => ({
    brokers: broker.brokers,
    maxWaitTimeMs: 50,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    maxStalenessMs: 1500,
  });

  async function listen(server: Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/resource`;
  }

  /** A node:http server: fake authentication, then the middleware, then the resource. */
  function middlewareServer(c: RevocationConsumer): Server {
    const checkRevocation = revocationMiddleware<IncomingMessage & WithUser>(c, {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
    return createServer((request: IncomingMessage & WithUser, response) => {
      fakeAuthenticate(request);
      checkRevocation(request, response, (error) => {
        response.statusCode = error === undefined ? 200 : 500;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ user: request.user }));
      });
    });
  }

  async function fastifyApp(c: RevocationConsumer): Promise<{ app: FastifyInstance; url: string }> {
    // A plain Fastify instance (the one Nest's adapter wraps): fastify is not our dependency.
    const app = new FastifyAdapter().getInstance();
    const options = { retryAfterSeconds: RETRY_AFTER_SECONDS };
    app.decorateRequest('user', null);
    const authenticate = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
      fakeAuthenticate(request);
      done();
    };
    const resource = (request: FastifyRequest) => ({ user: (request as WithUser).user });
    await app.register((scope, _opts, done) => {
      scope.addHook('onRequest', authenticate);
      scope.addHook('preHandler', revocationFastifyHook(c, options));
      scope.get('/resource', resource);
      done();
    });
    app.get(
      '/early/resource',
      { onRequest: [authenticate, revocationFastifyHook(c, options)] },
      resource,
    );
    fastifies.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    return { app, url: `http://127.0.0.1:${port}` };
  }

  /** GETs a point's resource (or any URL), with the claims for the fake authentication. */
  async function call(target: string, claims?: TokenClaims): Promise<Answer> {
    const url = (urls as Record<string, string>)[target] ?? target;
    const response = await fetch(url, {
      headers: claims === undefined ? {} : { [CLAIMS_HEADER]: JSON.stringify(claims) },
    });
    return {
      point: target,
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
      retryAfter: response.headers.get('retry-after'),
      contentType: response.headers.get('content-type'),
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  const minuteAgo = (): number => Math.floor(Date.now() / 1000) - 60;

  beforeAll(async () => {
    broker = await startOwnBroker(3);
    schema = await createTestSchema('integrations');
    writer = await startWriter(schema, broker.brokers, { HEARTBEAT_INTERVAL_MS: '200' });

    @Module({
      imports: [
        RevocationModule.forRootAsync({
          useFactory: () => ({
            consumer: consumerOptions(),
            guard: { retryAfterSeconds: RETRY_AFTER_SECONDS },
          }),
        }),
      ],
      controllers: [ResourceController],
      providers: [FakeJwtAuthGuard],
    })
    class TestAppModule {}
    nest = await NestFactory.create<NestFastifyApplication>(TestAppModule, new FastifyAdapter(), {
      logger: false,
      abortOnError: false,
    });
    // Created with the app; started by listen() (onApplicationBootstrap).
    nestConsumer = nest.get<RevocationConsumer>(REVOCATION_CONSUMER);
    const readyBeforeListen = nestConsumer.status().ready;
    const awaitedReady = jest.spyOn(nestConsumer, 'ready');
    await nest.listen(0, '127.0.0.1');
    readyWhenListening = {
      before: readyBeforeListen,
      ready: nestConsumer.status().ready,
      awaited: awaitedReady.mock.calls.length,
    };
    awaitedReady.mockRestore();
    urls['RevocationGuard (NestJS on Fastify)'] =
      `${(await nest.getUrl()).replace('[::1]', '127.0.0.1')}/resource`;

    consumer = createRevocationConsumer(consumerOptions());
    await consumer.start();
    await consumer.ready();
    urls['revocationMiddleware (node:http)'] = await listen(middlewareServer(consumer));
    const f = await fastifyApp(consumer);
    urls['revocationFastifyHook (preHandler)'] = `${f.url}/resource`;
    urls['revocationFastifyHook (onRequest)'] = `${f.url}/early/resource`;

    // Never started: not ready, so fail-closed refuses.
    unstarted = createRevocationConsumer(consumerOptions());
    notReadyUrls.push(await listen(middlewareServer(unstarted)));
    const early = await fastifyApp(unstarted);
    notReadyUrls.push(`${early.url}/resource`, `${early.url}/early/resource`);
    await waitFor(
      'fresh deny-lists',
      () => !consumer.status().stale && !nestConsumer.status().stale,
    );
  });

  afterAll(async () => {
    await nest?.close(); // stops its consumer (onApplicationShutdown)
    await Promise.all(fastifies.map((app) => app.close()));
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await consumer?.stop();
    await unstarted?.stop();
    await writer?.stop();
    await schema?.drop();
    await broker?.stop();
  });

  it('RevocationModule starts its consumer on bootstrap, listens only once it is ready (awaitReady default), and injects it', async () => {
    expect(readyWhenListening).toEqual({ before: false, ready: true, awaited: 1 });
    const base = urls['RevocationGuard (NestJS on Fastify)'].replace(/\/resource$/, '');
    const response = await fetch(`${base}/revocations`); // @InjectRevocationConsumer()
    expect(await response.json()).toEqual({ ready: true });
  });

  it.each(POINTS)('%s: lets a token through that nothing revokes (200)', async (point) => {
    const claims = { sub: 'alice', iss: ISS, iat: minuteAgo() };
    const answer = await call(point, claims);
    expect(answer).toMatchObject({ point, status: 200, wwwAuthenticate: null });
    expect(answer.body).toEqual({ user: claims });
  });

  it.each(POINTS)(
    '%s: answers 401 with a bare Bearer challenge when the request has no claims (RFC 6750 §3.1)',
    async (point) => {
      const answer = await call(point);
      expect(answer).toMatchObject({ point, status: 401, wwwAuthenticate: 'Bearer' });
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.body).toEqual({
        type: 'urn:rescind:problem:unauthenticated',
        title: 'Unauthorized',
        status: 401,
        detail: 'a verified bearer token is required',
        code: 'unauthenticated',
        retriable: false,
      });
    },
  );

  it('answers 503 not-ready with Retry-After from every integration while the consumer has not loaded', async () => {
    const answers = await Promise.all(notReadyUrls.map((url) => call(url, { sub: 'alice' })));
    for (const answer of answers) {
      expect(answer).toMatchObject({
        status: 503,
        retryAfter: String(RETRY_AFTER_SECONDS),
        wwwAuthenticate: null,
      });
      expect(answer.body).toMatchObject({
        code: 'revocation_list_not_ready',
        status: 503,
        retriable: true,
      });
    }
  });

  it('answers 401 invalid_token "token revoked" once an HR role change through the writer arrives, and serves tokens issued after it', async () => {
    const oldToken = { sub: 'bob', iss: ISS, iat: minuteAgo() };
    for (const point of POINTS) {
      expect(await call(point, oldToken)).toMatchObject({ point, status: 200 });
    }

    const response = await postHrEvent(writer, {
      id: 'hr-integrations-1',
      // A role change revokes the tokens issued before it (they carry the old roles), unlike a
      // termination, which blocks the person until reinstated.
      type: 'employee.role_changed',
      occurredAt: new Date().toISOString(),
      subject: 'bob',
      iss: ISS,
    });
    const acceptedAt = Date.now();
    expect(response.status).toBe(202);
    await waitFor(
      'the role change at both consumers',
      () => consumer.check(oldToken).revoked && nestConsumer.check(oldToken).revoked,
    );

    for (const point of POINTS) {
      const answer = await call(point, oldToken);
      expect(answer).toMatchObject({ point, status: 401, wwwAuthenticate: REVOKED_HEADER });
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.body).toEqual({
        type: 'urn:rescind:problem:token_revoked',
        title: 'Unauthorized',
        status: 401,
        detail: 'the token has been revoked',
        code: 'token_revoked',
        retriable: false,
      });
    }
    // Issued after the writer accepted the role change (iat is in whole seconds).
    const newToken = { ...oldToken, iat: Math.ceil(acceptedAt / 1000) };
    for (const point of POINTS) {
      expect(await call(point, newToken)).toMatchObject({ point, status: 200 });
    }
  });

  it('revocationMiddleware reads claims with claimsFrom, and lets claim-less requests through with onMissingClaims: allow', () => {
    const answered: Array<{ status: number; headers: Record<string, string> }> = [];
    const response = (): RevocationMiddlewareResponse & { headers: Record<string, string> } => {
      const r = {
        statusCode: 200,
        headers: {} as Record<string, string>,
        setHeader: (name: string, value: string) => (r.headers[name] = value),
        end: () => answered.push({ status: r.statusCode, headers: r.headers }),
      };
      return r;
    };
    const next = jest.fn();
    const fromAuth = revocationMiddleware(consumer, {
      claimsFrom: (request: { auth?: TokenClaims }) => request.auth,
    });
    fromAuth({ auth: { sub: 'bob', iss: ISS, iat: minuteAgo() } }, response(), next);
    expect(answered).toEqual([
      { status: 401, headers: expect.objectContaining({ 'www-authenticate': REVOKED_HEADER }) },
    ]);
    expect(next).not.toHaveBeenCalled();

    revocationMiddleware(consumer, { onMissingClaims: 'allow' })({}, response(), next);
    expect(next).toHaveBeenCalledWith();

    const failing = new Error('no claims for you');
    revocationMiddleware(consumer, {
      claimsFrom: () => {
        throw failing;
      },
    })({}, response(), next);
    expect(next).toHaveBeenLastCalledWith(failing);
    expect(answered).toHaveLength(1);
  });

  it('RevocationGuard sets its headers on an Express/node response too (setHeader) and throws the problem as an HttpException', async () => {
    const guard = nest.get(RevocationGuard);
    // What Nest's Express adapter hands a guard: the node request/response (Express extends them).
    const server = createServer((request: IncomingMessage & WithUser, response) => {
      fakeAuthenticate(request);
      try {
        guard.canActivate(new ExecutionContextHost([request, response]));
        response.statusCode = 200;
        response.end('{}');
      } catch (error) {
        // As Nest's BaseExceptionFilter + ExpressAdapter.reply do.
        const exception = error as HttpException;
        response.statusCode = exception.getStatus();
        response.end(JSON.stringify(exception.getResponse()));
      }
    });
    const url = await listen(server);
    const answer = await call(url, { sub: 'bob', iss: ISS, iat: minuteAgo() });
    expect(answer).toMatchObject({ status: 401, wwwAuthenticate: REVOKED_HEADER });
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ code: 'token_revoked' });
    expect(await call(url, { sub: 'carol', iss: ISS, iat: minuteAgo() })).toMatchObject({
      status: 200,
    });
  });

  it('answers 503 with Retry-After under fail-closed when the broker is down (stale), and still 401 for a revoked token', async () => {
    const revokedToken = { sub: 'bob', iss: ISS, iat: minuteAgo() };
    const fineToken = { sub: 'dave', iss: ISS, iat: minuteAgo() };
    await broker.down();
    try {
      await waitFor(
        'both consumers to turn stale',
        () => consumer.status().stale && nestConsumer.status().stale,
        { timeoutMs: 10_000 },
      );
      for (const point of POINTS) {
        const answer = await call(point, fineToken);
        expect(answer).toMatchObject({
          point,
          status: 503,
          retryAfter: String(RETRY_AFTER_SECONDS),
          wwwAuthenticate: null,
        });
        expect(answer.contentType).toMatch(/^application\/problem\+json/);
        expect(answer.body).toEqual({
          type: 'urn:rescind:problem:revocation_list_stale',
          title: 'Service Unavailable',
          status: 503,
          detail: 'the revocation list is out of date; the request cannot be checked',
          code: 'revocation_list_stale',
          retriable: true,
        });
        // A revoked token stays revoked, whatever the freshness.
        expect(await call(point, revokedToken)).toMatchObject({
          point,
          status: 401,
          wwwAuthenticate: REVOKED_HEADER,
        });
      }
    } finally {
      await broker.up();
    }
    await waitFor('fresh again', () => !consumer.status().stale && !nestConsumer.status().stale, {
      timeoutMs: 45_000,
    });
    for (const point of POINTS) {
      expect(await call(point, fineToken)).toMatchObject({ point, status: 200 });
    }
  });
});
