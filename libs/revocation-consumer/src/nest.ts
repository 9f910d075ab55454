/**
 * The NestJS integration of the revocation consumer: `RevocationModule` and `RevocationGuard`.
 * A separate entry point (`@rescind/revocation-consumer/nest`) because it needs
 * `@nestjs/common` and `@nestjs/core` at run time, which the core entry point must not impose on
 * Express, Fastify or plain Node services.
 */
export {
  InjectRevocationConsumer,
  REVOCATION_CONSUMER,
  REVOCATION_MODULE_OPTIONS,
  RevocationGuard,
  RevocationModule,
  type RevocationModuleAsyncOptions,
  type RevocationModuleForRootOptions,
  type RevocationModuleOptions,
} from './integrations/nest';
