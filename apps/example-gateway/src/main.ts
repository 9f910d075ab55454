import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createGatewayApp } from './bootstrap';
import { GatewayConfigError, loadGatewayConfig } from './config/config';

/**
 * The example enforcement point: verifies JWTs against the issuer's JWKS, refuses revoked ones
 * from its local deny-list, and answers GET /api/whoami. Configuration: see config/config.ts.
 */
async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  const app = await createGatewayApp(config);
  app.enableShutdownHooks();
  await app.listen(config.http.port, config.http.host);
  new Logger('Gateway').log(`listening on ${await app.getUrl()}`);
}

main().catch((error: unknown) => {
  // Configuration errors name the variable, never its value.
  process.stderr.write(
    `${error instanceof GatewayConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
