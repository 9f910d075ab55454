import {
  type CanActivate,
  type ConfigurableModuleAsyncOptions,
  ConfigurableModuleBuilder,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createRevocationConsumer, type RevocationConsumer } from '../consumer';
import type { RevocationConsumerOptions } from '../options';
import {
  createRevocationEnforcer,
  type RevocationEnforcementOptions,
  type RevocationEnforcer,
} from './enforcement';

/**
 * Injection token of the {@link RevocationConsumer} that {@link RevocationModule} creates.
 * Prefer {@link InjectRevocationConsumer}.
 *
 * @example
 * const consumer = app.get<RevocationConsumer>(REVOCATION_CONSUMER);
 */
export const REVOCATION_CONSUMER = 'RESCIND_REVOCATION_CONSUMER';

/**
 * Options of {@link RevocationModule}.
 *
 * @example
 * const options: RevocationModuleOptions = {
 *   consumer: { brokers: ['kafka:9092'], stalenessPolicy: 'fail-closed' },
 *   awaitReady: true,
 *   guard: { retryAfterSeconds: 2 },
 * };
 */
export interface RevocationModuleOptions {
  /** How to create the consumer: brokers, snapshot source, staleness policy, ... */
  consumer: RevocationConsumerOptions;
  /**
   * Wait during application bootstrap until the consumer is ready (snapshot loaded, caught up
   * with the topic), so `app.listen()` opens the port only once every check is answerable.
   * Default `true`. With `false`, serve `consumer.status().ready` on a readiness endpoint
   * instead: until then `fail-closed` denies with 503 (`not-ready`).
   */
  awaitReady?: boolean;
  /**
   * With `awaitReady`, fail the bootstrap if the consumer is not ready after this long (ms).
   * Default: wait as long as it takes.
   */
  readyTimeoutMs?: number;
  /** Where {@link RevocationGuard} finds the claims, and how it answers. */
  guard?: RevocationEnforcementOptions;
}

/**
 * Injection token of the {@link RevocationModuleOptions}.
 *
 * @example
 * const options = app.get<RevocationModuleOptions>(REVOCATION_MODULE_OPTIONS);
 */
export const REVOCATION_MODULE_OPTIONS = 'RESCIND_REVOCATION_MODULE_OPTIONS';

const { ConfigurableModuleClass } = new ConfigurableModuleBuilder<RevocationModuleOptions>({
  optionsInjectionToken: REVOCATION_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  // One deny-list per process, and guards of every feature module need it: global by default.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/**
 * What {@link RevocationModule.forRoot} accepts: {@link RevocationModuleOptions} plus
 * `isGlobal` (default `true`).
 *
 * @example
 * const options: RevocationModuleForRootOptions = { consumer: { brokers: ['kafka:9092'] }, isGlobal: false };
 */
export type RevocationModuleForRootOptions = RevocationModuleOptions & { isGlobal?: boolean };

/**
 * What {@link RevocationModule.forRootAsync} accepts: `useFactory` + `inject` + `imports`,
 * `useClass` or `useExisting`, plus `isGlobal` (default `true`).
 *
 * @example
 * const options: RevocationModuleAsyncOptions = {
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ consumer: { brokers: config.get('KAFKA_BROKERS') } }),
 * };
 */
export type RevocationModuleAsyncOptions =
  ConfigurableModuleAsyncOptions<RevocationModuleOptions> & {
    isGlobal?: boolean;
  };

/**
 * Injects the application's {@link RevocationConsumer}.
 *
 * @example
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(@InjectRevocationConsumer() private readonly revocations: RevocationConsumer) {}
 *
 *   @Get('revocations')
 *   status() {
 *     return this.revocations.status();
 *   }
 * }
 * ```
 */
export const InjectRevocationConsumer = (): PropertyDecorator & ParameterDecorator =>
  Inject(REVOCATION_CONSUMER);

/**
 * Lets a request through only if its verified token is not revoked. Use it after the guard that
 * verifies the JWT (Passport's `AuthGuard('jwt')`, or your own jose guard), which puts the
 * claims on `request.user`; `guard.claimsFrom` in the module options reads them elsewhere.
 *
 * Denies by throwing an `HttpException` whose response is an RFC 9457 problem body, after
 * setting the headers on the response object (`setHeader` on Express and node responses,
 * `header` on Fastify replies), so it works on both platforms and with your exception filters:
 * - revoked → 401 `WWW-Authenticate: Bearer error="invalid_token", error_description="token revoked"`
 * - stale under `fail-closed`, or not loaded yet → 503 with `Retry-After`
 * - no claims on the request → 401 `WWW-Authenticate: Bearer` (an authentication guard must
 *   run first), unless `guard.onMissingClaims` is `allow`
 *
 * Guards of a controller run in the order listed, after global guards: list the
 * authentication guard first. HTTP only (`context.switchToHttp()`); GraphQL, WebSocket and
 * microservice contexts need their own guard built on {@link createRevocationEnforcer}.
 *
 * @example
 * ```ts
 * @Controller('api')
 * @UseGuards(AuthGuard('jwt'), RevocationGuard)
 * export class OrdersController {
 *   @Get('orders')
 *   list() {}
 * }
 * ```
 */
@Injectable()
export class RevocationGuard implements CanActivate {
  private readonly enforce: RevocationEnforcer<unknown>;

  constructor(
    @Inject(REVOCATION_CONSUMER) consumer: RevocationConsumer,
    @Inject(REVOCATION_MODULE_OPTIONS) options: RevocationModuleOptions,
  ) {
    this.enforce = createRevocationEnforcer(consumer, options.guard);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const denial = this.enforce(http.getRequest<unknown>());
    if (denial === undefined) {
      return true;
    }
    const response = http.getResponse<HeaderSink>();
    for (const name in denial.headers) {
      setHeader(response, name, denial.headers[name]!);
    }
    throw new HttpException(denial.body, denial.status);
  }
}

/** Express and node responses have `setHeader`; a Fastify reply has `header`. */
interface HeaderSink {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

function setHeader(response: HeaderSink, name: string, value: string): void {
  if (typeof response.setHeader === 'function') {
    response.setHeader(name, value);
  } else if (typeof response.header === 'function') {
    response.header(name, value);
  }
}

/**
 * Creates the application's {@link RevocationConsumer} from the options, starts it on
 * application bootstrap (and by default waits until it is ready), stops it on shutdown, and
 * provides it ({@link InjectRevocationConsumer}) and {@link RevocationGuard}. Global unless
 * `isGlobal: false`.
 *
 * @example
 * ```ts
 * import { RevocationGuard, RevocationModule } from '@rescind/revocation-consumer/nest';
 *
 * @Module({
 *   imports: [
 *     RevocationModule.forRoot({
 *       consumer: {
 *         brokers: ['kafka:9092'],
 *         snapshot: { url: 'http://rescind:3000/v1/deny-list/snapshot', token: process.env.RESCIND_TOKEN! },
 *       },
 *     }),
 *   ],
 *   controllers: [OrdersController],
 * })
 * export class AppModule {}
 * ```
 *
 * @example
 * RevocationModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     consumer: { brokers: config.getOrThrow<string>('KAFKA_BROKERS').split(',') },
 *     awaitReady: false,
 *     guard: { claimsFrom: (request: { auth?: JWTPayload }) => request.auth },
 *   }),
 * });
 */
@Module({
  providers: [
    {
      provide: REVOCATION_CONSUMER,
      inject: [REVOCATION_MODULE_OPTIONS],
      useFactory: (options: RevocationModuleOptions) => createRevocationConsumer(options.consumer),
    },
    RevocationGuard,
  ],
  exports: [REVOCATION_CONSUMER, REVOCATION_MODULE_OPTIONS, RevocationGuard],
})
export class RevocationModule
  extends ConfigurableModuleClass
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  constructor(
    @Inject(REVOCATION_CONSUMER) private readonly consumer: RevocationConsumer,
    @Inject(REVOCATION_MODULE_OPTIONS) private readonly options: RevocationModuleOptions,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
    if (this.options.awaitReady ?? true) {
      await this.untilReady(this.options.readyTimeoutMs);
    }
  }

  /** After the HTTP server closed: in-flight requests were still checked. */
  async onApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }

  private async untilReady(timeoutMs: number | undefined): Promise<void> {
    if (timeoutMs === undefined) {
      return this.consumer.ready();
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`revocation consumer not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.consumer.ready(), timedOut]);
    } catch (error) {
      await this.consumer.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
