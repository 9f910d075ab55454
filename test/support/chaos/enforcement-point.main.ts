/**
 * An enforcement point in a process of its own, for chaos tests that SIGSTOP, SIGKILL or restart
 * it (test/support/chaos/enforcement-point-process.ts starts it). It listens at once, prints
 * `PORT <n>`, then starts its consumer; `POST /observe {"tokens": [...]}` answers one
 * {@link Observation} taken synchronously. SIGTERM stops the consumer (which saves its list with
 * a persist path) and exits. Configured by CHAOS_EP_* variables; this is test tooling, so it reads
 * the environment directly.
 */
import { createRevocationConsumer, type StalenessPolicy } from '@rescind/revocation-consumer';
import { createServer } from 'node:http';
import { observeConsumer } from './enforcement';

const env = process.env;
const consumer = createRevocationConsumer({
  brokers: (env.CHAOS_EP_BROKERS ?? '').split(','),
  ...(env.CHAOS_EP_TOPIC && { topic: env.CHAOS_EP_TOPIC }),
  groupIdPrefix: env.CHAOS_EP_GROUP ?? 'chaos-ep',
  maxStalenessMs: Number(env.CHAOS_EP_MAX_STALENESS_MS ?? 5000),
  stalenessPolicy: (env.CHAOS_EP_POLICY ?? 'fail-closed') as StalenessPolicy,
  ...(env.CHAOS_EP_PERSIST_PATH && {
    persistPath: env.CHAOS_EP_PERSIST_PATH,
    persistIntervalMs: Number(env.CHAOS_EP_PERSIST_INTERVAL_MS ?? 500),
  }),
  maxWaitTimeMs: 50,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
});

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    response.setHeader('content-type', 'application/json');
    if (request.url === '/status') {
      response.end(JSON.stringify(consumer.status()));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
      tokens?: Array<Record<string, unknown>>;
    };
    response.end(JSON.stringify(observeConsumer(consumer, body.tokens ?? [])));
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
  consumer.start().catch((error: unknown) => {
    process.stderr.write(`consumer start failed: ${String(error)}\n`);
  });
});

process.once('SIGTERM', () => {
  server.close();
  void consumer.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
