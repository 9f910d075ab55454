/**
 * `check(claims)` against a DenyList of 1,000,000 live rules, the heap it takes, and the same
 * lookup done the way many teams do it today: one Redis round trip per request.
 *
 *   npm run bench:check            (BENCH_RULES=200000 npm run bench:check for a quicker run)
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { ruleKey } from '@rescind/contracts';
import { DenyList, type TokenClaims } from '@rescind/rules';
import { DenyList as BaselineDenyList } from './baseline/deny-list';
import {
  eventText,
  parseEvent,
  pickRules,
  ruleAt,
  type TokenKind,
  tokenText,
  type TokenPayload,
} from './fixtures';
import { gcOrExit, machine, mib, now, ns, percentile, rate, retainedBytes } from './report';
import { RespClient } from './resp';

const RULES = Number(process.env.BENCH_RULES ?? 1_000_000);
/** Fresh tokens per measured round; every token is checked once per method. */
const POOL = 50_000;
/** Rounds per method and token kind; the first is a warm-up and is not reported. */
const ROUNDS = 6;
/** Calls per timed batch in the batch method. */
const BATCH = 32;
/** Tokens parsed, then checked in one timed loop, in the throughput method. */
const CHUNK = 256;
const REDIS_CALLS = 20_000;
const REDIS_WARMUP = 2_000;

const gc = gcOrExit();

/** `BENCH_IMPL=baseline` measures the DenyList as it was before the compact rewrite. */
const IMPL = process.env.BENCH_IMPL === 'baseline' ? 'baseline' : 'current';
type List = Pick<DenyList, 'apply' | 'check' | 'size'>;
const newList = (): List => (IMPL === 'baseline' ? new BaselineDenyList() : new DenyList());

function buildList(): List {
  const before = retainedBytes(gc);
  const start = now();
  const list = newList();
  for (let i = 0; i < RULES; i += 1) {
    list.apply(parseEvent(eventText(i, i + 1)));
  }
  const buildMs = Number(now() - start) / 1e6;
  const after = retainedBytes(gc);
  const heap = after.heap - before.heap;
  const external = after.external - before.external;
  console.log(`\n## Memory: DenyList (${IMPL}) of ${list.size.toLocaleString('en')} live rules`);
  console.log(
    `built in ${(buildMs / 1000).toFixed(1)} s (includes generating and parsing the event JSON; ` +
      'apply rate: see bench:apply)',
  );
  console.log(
    'method: global.gc() x3 before and after building, delta of heapUsed (V8 heap) and ' +
      'external (ArrayBuffer backing stores of typed arrays, outside heapUsed)',
  );
  console.log(`heapUsed delta: ${mib(heap)} = ${(heap / RULES).toFixed(1)} B/rule`);
  console.log(`external delta: ${mib(external)} = ${(external / RULES).toFixed(1)} B/rule`);
  console.log(
    `total:          ${mib(heap + external)} = ${((heap + external) / RULES).toFixed(1)} B/rule ` +
      '(includes the rule value strings, which the list keeps)',
  );
  return list;
}

const pickedFor: Record<TokenKind, number[]> = {
  miss: [],
  'hit-revoked': [],
  'hit-spared': [],
};

/** Rule indices for hit tokens, chosen once; miss tokens ignore them. */
function pickAll(): void {
  pickedFor['hit-revoked'] = pickRules(POOL, RULES, 11, () => true);
  pickedFor['hit-spared'] = pickRules(POOL, RULES, 12, (r) => r.revokedBefore !== null);
  pickedFor.miss = new Array<number>(POOL).fill(0);
}

let salt = 0;

/** `POOL` token payloads as JSON text; each is parsed just before its check, untimed. */
function texts(kind: TokenKind): string[] {
  const picked = pickedFor[kind];
  const out = new Array<string>(POOL);
  for (let i = 0; i < POOL; i += 1) {
    salt += 1;
    out[i] = tokenText(kind, picked[i]!, salt);
  }
  return out;
}

function parse(text: string): TokenClaims {
  return JSON.parse(text) as TokenPayload;
}

/** The cost of the timer itself: median of back-to-back process.hrtime.bigint() pairs. */
function timerOverheadNs(): number {
  const samples = new Float64Array(200_000);
  for (let i = 0; i < samples.length; i += 1) {
    const t0 = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort();
  return percentile(samples, 50);
}

interface Figures {
  throughput: number;
  individual: Float64Array;
  batch: Float64Array;
  wrong: number;
}

function measure(list: List, kind: TokenKind, overhead: number): Figures {
  const want = kind === 'hit-revoked';
  const individual: number[] = [];
  const batch: number[] = [];
  const claims = new Array<TokenClaims>(CHUNK);
  let throughputNs = 0;
  let throughputCalls = 0;
  let wrong = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const warm = round > 0;

    // 1. Throughput: chunks of CHUNK tokens parsed (untimed), then checked in a timed loop.
    let pool = texts(kind);
    gc();
    for (let i = 0; i + CHUNK <= POOL; i += CHUNK) {
      for (let j = 0; j < CHUNK; j += 1) {
        claims[j] = parse(pool[i + j]!);
      }
      const t0 = now();
      for (let j = 0; j < CHUNK; j += 1) {
        if (list.check(claims[j]!).revoked !== want) {
          wrong += 1;
        }
      }
      const elapsed = Number(now() - t0);
      if (warm) {
        throughputNs += elapsed;
        throughputCalls += CHUNK;
      }
    }

    // 2. Every call timed on its own; the timer's own median cost is subtracted.
    pool = texts(kind);
    gc();
    for (let i = 0; i < POOL; i += 1) {
      const token = parse(pool[i]!);
      const t0 = process.hrtime.bigint();
      const revoked = list.check(token).revoked;
      const dt = Number(process.hrtime.bigint() - t0);
      if (revoked !== want) {
        wrong += 1;
      }
      if (warm) {
        individual.push(Math.max(0, dt - overhead));
      }
    }

    // 3. Batches of BATCH calls timed together: mean per call within each batch.
    pool = texts(kind);
    gc();
    for (let i = 0; i + BATCH <= POOL; i += BATCH) {
      for (let j = 0; j < BATCH; j += 1) {
        claims[j] = parse(pool[i + j]!);
      }
      const t0 = process.hrtime.bigint();
      for (let j = 0; j < BATCH; j += 1) {
        if (list.check(claims[j]!).revoked !== want) {
          wrong += 1;
        }
      }
      const dt = Number(process.hrtime.bigint() - t0);
      if (warm) {
        batch.push(dt / BATCH);
      }
    }
  }
  return {
    throughput: (throughputCalls / throughputNs) * 1e9,
    individual: Float64Array.from(individual).sort(),
    batch: Float64Array.from(batch).sort(),
    wrong,
  };
}

function line(label: string, sorted: Float64Array): string {
  return `${label} p50 ${ns(percentile(sorted, 50))}, p90 ${ns(percentile(sorted, 90))}, p99 ${ns(percentile(sorted, 99))}, p99.9 ${ns(percentile(sorted, 99.9))}, max ${ns(sorted[sorted.length - 1]!)}`;
}

async function redis(localP50: Record<'miss' | 'hit-revoked', number>): Promise<void> {
  console.log('\n## Side by side: one Redis SISMEMBER per check (127.0.0.1:6379)');
  let client: RespClient;
  try {
    client = await RespClient.open('127.0.0.1', 6379);
  } catch (error) {
    console.log(`skipped: ${(error as Error).message}`);
    return;
  }
  const key = `rescind:bench:${process.pid}:deny`;
  const cleanUp = (): void => {
    void client.command('UNLINK', key).finally(() => process.exit(130));
  };
  process.once('SIGINT', cleanUp);
  try {
    console.log(
      `method: the ${RULES.toLocaleString('en')} rule keys loaded into one Redis set ${key} ` +
        '(pipelined SADD, 1000 members per command); then one SISMEMBER per check, awaited ' +
        'before the next (one request in flight, as a request handler does), each timed with ' +
        'process.hrtime.bigint(); loopback TCP, no TLS; hand-written RESP client on node:net; ' +
        'the DenyList was released and collected first',
    );
    const loadStart = now();
    for (let i = 0; i < RULES; i += 10_000) {
      const commands: string[][] = [];
      for (let c = i; c < Math.min(RULES, i + 10_000); c += 1000) {
        const command = ['SADD', key];
        for (let j = c; j < Math.min(RULES, c + 1000); j += 1) {
          command.push(ruleKey(ruleAt(j)));
        }
        commands.push(command);
      }
      await client.pipeline(commands);
    }
    console.log(
      `loaded ${String(await client.command('SCARD', key))} members in ${(Number(now() - loadStart) / 1e9).toFixed(1)} s`,
    );
    const hits = pickRules(REDIS_CALLS + REDIS_WARMUP, RULES, 13, () => true).map((i) =>
      ruleKey(ruleAt(i)),
    );
    for (const kind of ['miss', 'hit-revoked'] as const) {
      const samples = new Float64Array(REDIS_CALLS);
      let wrong = 0;
      let measuredNs = 0;
      for (let i = 0; i < REDIS_CALLS + REDIS_WARMUP; i += 1) {
        const member =
          kind === 'miss' ? `sub::${100_000_000_000 + RULES + i}-miss` : hits[i % hits.length]!;
        const t0 = process.hrtime.bigint();
        const reply = await client.command('SISMEMBER', key, member);
        const dt = Number(process.hrtime.bigint() - t0);
        if ((reply === 1) !== (kind === 'hit-revoked')) {
          wrong += 1;
        }
        if (i >= REDIS_WARMUP) {
          samples[i - REDIS_WARMUP] = dt;
          measuredNs += dt;
        }
      }
      samples.sort();
      const p50 = percentile(samples, 50);
      console.log(
        `${kind.padEnd(11)} ${line('', samples).trim()} | ${rate((REDIS_CALLS / measuredNs) * 1e9)} sequential | ` +
          `${wrong} wrong | Redis p50 / DenyList p50 = ${Math.round(p50 / localP50[kind]).toLocaleString('en')}x`,
      );
    }
  } finally {
    const removed = await client.command('UNLINK', key);
    console.log(`cleaned up: UNLINK ${key} -> ${String(removed)}`);
    process.removeListener('SIGINT', cleanUp);
    await client.close();
  }
}

const ALLOCATION_CALLS = 2_000_000;

/**
 * Does `check` allocate on the not-revoked path? Counts garbage collections (which allocation
 * would trigger) during ALLOCATION_CALLS checks over 1,000 tokens parsed beforehand.
 */
async function allocation(list: List): Promise<void> {
  console.log(
    `\n## Allocation: GCs during ${ALLOCATION_CALLS.toLocaleString('en')} checks (not revoked)`,
  );
  for (const kind of ['miss', 'hit-spared'] as const) {
    const tokens = texts(kind)
      .slice(0, 1000)
      .map((text) => parse(text));
    let revoked = 0;
    for (const claims of tokens) {
      revoked += list.check(claims).revoked ? 1 : 0;
    }
    gc();
    let gcs = 0;
    const observer = new PerformanceObserver((entries) => {
      gcs += entries.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < ALLOCATION_CALLS / tokens.length; i += 1) {
      for (const claims of tokens) {
        revoked += list.check(claims).revoked ? 1 : 0;
      }
    }
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    console.log(
      `${kind.padEnd(11)} ${gcs} GCs, heapUsed ${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(0)} KiB ` +
        `(${(grown / ALLOCATION_CALLS).toFixed(2)} B/call; one object is at least 16 B), ${revoked} revoked`,
    );
  }
}

/** Builds the list, measures it and lets it go: returns the p50 (individual) per kind. */
async function measureList(): Promise<Record<'miss' | 'hit-revoked', number>> {
  const list = buildList();
  pickAll();
  const overhead = timerOverheadNs();
  console.log(
    `\n## check(claims) of the ${IMPL} DenyList, one core, ${RULES.toLocaleString('en')} rules`,
  );
  console.log(
    'method: every token is its own JSON.parse of a JWT payload (10 claims, new strings with no ' +
      'cached hash), parsed untimed just before it is checked, so it is in cache as it is right ' +
      `after JWT verification. Per kind, ${ROUNDS} rounds x 3 methods x ` +
      `${POOL.toLocaleString('en')} tokens; round 1 is warm-up and dropped; gc() before each method.`,
  );
  console.log(
    `  throughput: ${CHUNK} tokens parsed, then checked in one timed loop; calls / timed time.\n` +
      `  individual: each call between two process.hrtime.bigint(), minus the timer's median cost (${overhead.toFixed(0)} ns);\n` +
      '              includes timer jitter and the BigInt it allocates, so its tail is an upper bound.\n' +
      `  batch/${BATCH}:   ${BATCH} calls timed together, mean per call of each batch (smooths single-call outliers).`,
  );
  console.log(
    '  miss: no rule matches (kid and iss rules exist and are looked up); hit-revoked: a rule ' +
      'matches and revokes; hit-spared: a rule matches but the token was issued after revokedBefore.',
  );
  const p50: Record<'miss' | 'hit-revoked', number> = { miss: 0, 'hit-revoked': 0 };
  for (const kind of ['miss', 'hit-revoked', 'hit-spared'] as const) {
    const figures = measure(list, kind, overhead);
    if (kind !== 'hit-spared') {
      p50[kind] = Math.max(1, percentile(figures.individual, 50));
    }
    console.log(
      `${kind.padEnd(11)} throughput ${rate(figures.throughput)} (${ns(1e9 / figures.throughput)}/call), ${figures.wrong} wrong decisions`,
    );
    console.log(line('            individual', figures.individual));
    console.log(line(`            batch/${BATCH}  `, figures.batch));
  }
  await allocation(list);
  return p50;
}

async function main(): Promise<void> {
  console.log(`# bench:check (${new Date().toISOString()})`);
  console.log(machine());
  const p50 = await measureList();
  // The list is garbage now: the Redis loop should not pay for collecting a large heap.
  retainedBytes(gc);
  if (process.env.BENCH_REDIS === '0') {
    console.log('\n(Redis comparison skipped: BENCH_REDIS=0)');
  } else {
    await redis(p50);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
