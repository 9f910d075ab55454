import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGatewayApp } from '../../apps/example-gateway/src/bootstrap';
import { loadGatewayConfig } from '../../apps/example-gateway/src/config/config';

export interface RunningGateway {
  app: NestFastifyApplication;
  url: string;
  stop(): Promise<void>;
}

/**
 * Boots the example gateway in-process on an ephemeral port, configured through the same
 * environment reader as `npm run start:gateway`. It listens before its deny-list is loaded:
 * wait for GET /health/ready.
 */
export async function startGateway(env: Record<string, string>): Promise<RunningGateway> {
  const config = loadGatewayConfig({
    GATEWAY_PORT: '0',
    GATEWAY_HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = await createGatewayApp(config);
  await app.listen(config.http.port, config.http.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    async stop() {
      await app.close();
    },
  };
}
