/**
 * One enforcement point of `npm run bench:e2e`, in a process of its own: the consumer library
 * with its default settings (only the brokers, a group prefix and the writer's snapshot are
 * given), as a service team embeds it. It talks to the benchmark over IPC:
 *
 * - `{type: 'ready', ...}` once `ready()` resolved, with when (CLOCK_MONOTONIC, shared by every
 *   process on the machine: `process.hrtime.bigint()`), how long `start()` took, and the list;
 * - `{type: 'applied', entries}` every 20 ms: `[subject, appliedAtNs]` for each rule applied
 *   from the topic since (what a snapshot loaded is not propagation and is not reported);
 * - on `{type: 'check', samples}`: times `check()` on tokens that miss, in batches, and answers
 *   `{type: 'checked', batchNs}` (per-call nanoseconds of each batch);
 * - on `{type: 'stop'}`: stops the consumer and exits.
 *
 * Benchmark tooling: it reads its settings from BENCH_EP_* variables.
 */
import { createRevocationConsumer } from '@rescind/revocation-consumer';

const env = process.env;
const send = (message: unknown): void => {
  process.send?.(message);
};

const consumer = createRevocationConsumer({
  brokers: (env.BENCH_EP_BROKERS ?? '').split(','),
  groupIdPrefix: env.BENCH_EP_GROUP ?? 'bench-ep',
  ...(env.BENCH_EP_SNAPSHOT_URL && {
    snapshot: { url: env.BENCH_EP_SNAPSHOT_URL, token: env.BENCH_EP_SNAPSHOT_TOKEN ?? '' },
  }),
  logger: {
    info: () => undefined,
    warn: (m) => process.stderr.write(`${m}\n`),
    error: (m) => process.stderr.write(`${m}\n`),
  },
});

let reporting = false;
let pending: Array<[string, string]> = [];
consumer.on('rule', ({ rule }) => {
  if (reporting) {
    pending.push([rule.value, process.hrtime.bigint().toString()]);
  }
});
setInterval(() => {
  if (pending.length > 0) {
    send({ type: 'applied', entries: pending });
    pending = [];
  }
}, 20).unref();

/**
 * Per-call time of `check()` on tokens no rule matches, in batches of 1,000 calls. Each batch
 * has tokens of its own, freshly parsed from JSON as a JWT verifier hands them over (their
 * strings not yet hashed), so no batch runs on what an earlier one left in the caches.
 */
function timeChecks(samples: number): number[] {
  const iss = env.BENCH_EP_ISS ?? '';
  const now = Math.floor(Date.now() / 1000);
  const batches: number[] = [];
  let revoked = 0;
  for (let b = 0; b < samples / 1000; b += 1) {
    const tokens = JSON.parse(
      JSON.stringify(
        Array.from({ length: 1000 }, (_, i) => ({
          iss,
          sub: `bench-miss-${b}-${i}`,
          jti: `jti-${b}-${i}`,
          sid: `sid-${b}-${i}`,
          client_id: 'app',
          iat: now,
          exp: now + 300,
        })),
      ),
    ) as Array<Record<string, unknown>>;
    const start = process.hrtime.bigint();
    for (const token of tokens) {
      if (consumer.check(token).revoked) {
        revoked += 1;
      }
    }
    batches.push(Number(process.hrtime.bigint() - start) / tokens.length);
  }
  if (revoked > 0) {
    throw new Error(`${revoked} of the miss tokens were revoked: the benchmark's tokens are wrong`);
  }
  return batches;
}

process.on('message', (message: { type: string; samples?: number }) => {
  if (message.type === 'check') {
    send({ type: 'checked', batchNs: timeChecks(message.samples ?? 1_000_000) });
  } else if (message.type === 'stop') {
    void consumer.stop().finally(() => process.exit(0));
  }
});

void (async () => {
  const startedAt = process.hrtime.bigint();
  await consumer.start();
  await consumer.ready();
  const readyAt = process.hrtime.bigint();
  reporting = true;
  const status = consumer.status();
  send({
    type: 'ready',
    startedAtNs: startedAt.toString(),
    readyAtNs: readyAt.toString(),
    rules: status.rules,
    lastSeq: status.lastSeq,
    heapUsedBytes: process.memoryUsage().heapUsed,
  });
})().catch((error: unknown) => {
  process.stderr.write(`enforcement point failed: ${String(error)}\n`);
  process.exit(1);
});
