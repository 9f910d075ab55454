/**
 * A minimal enforcement point for the demo: embeds the revocation consumer and answers
 * GET /check?sub=...&iss=...&iat=... from its local deny-list (no call to the writer).
 * Configuration: KAFKA_BROKERS (comma separated), PORT (default 4000).
 */
import { createServer } from 'node:http';
import { createRevocationConsumer } from '@rescind/revocation-consumer';

async function main(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const consumer = createRevocationConsumer({
    brokers,
    groupIdPrefix: 'demo-enforcement-point',
    maxWaitTimeMs: Number(process.env.KAFKA_MAX_WAIT_MS ?? 1000),
    logger: console,
  });
  consumer.on('rule', ({ rule, latencyMs }) =>
    console.log(
      `[enforcement point] deny-list updated: ${rule.key} (seq ${rule.seq}, ${latencyMs} ms after commit)`,
    ),
  );

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/status') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(consumer.status()));
      return;
    }
    const iat = url.searchParams.get('iat');
    const decision = consumer.check({
      sub: url.searchParams.get('sub') ?? undefined,
      iss: url.searchParams.get('iss') ?? undefined,
      iat: iat === null ? undefined : Number(iat),
    });
    response.setHeader('content-type', 'application/json');
    response.statusCode = decision.revoked ? 401 : 200;
    response.end(JSON.stringify(decision));
  });

  await consumer.start();
  await consumer.ready();
  const port = Number(process.env.PORT ?? 4000);
  server.listen(port, '127.0.0.1', () =>
    console.log(`[enforcement point] ready on http://127.0.0.1:${port}`),
  );

  const shutdown = (): void => {
    server.close();
    void consumer.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
