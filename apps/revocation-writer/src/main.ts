import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config';
import { startTelemetry } from './telemetry/telemetry';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const telemetry = startTelemetry(config.telemetry.serviceName, process.env);
  // Loaded after the SDK started, so instrumentation sees the modules it patches.
  const { createWriterApp } = await import('./bootstrap');
  const app = await createWriterApp(config);
  process.once('beforeExit', () => void telemetry.shutdown());
  await app.listen(config.http.port, config.http.host);
}

main().catch((error: unknown) => {
  // Before the logger exists: plain stderr, and never the configuration values themselves.
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
