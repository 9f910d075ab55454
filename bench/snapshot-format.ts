/**
 * The binary deny-list snapshot (`DenyList.toSnapshot` / `DenyList.fromSnapshot`) against the
 * NDJSON lines an enforcement point bootstraps from today (one invalidation event per rule,
 * parsed and applied): bytes per rule, encode and decode time, and what a loaded list holds.
 *
 *   npm run bench:snapshot          (BENCH_RULES=200000 npm run bench:snapshot for a quicker run)
 */
import { createHash } from 'node:crypto';
import { DenyList, type TokenClaims } from '@rescind/rules';
// Benchmarks measure internals on purpose (see eslint.config.mjs).
import { versionLine } from '../libs/revocation-consumer/src/persistence';
import { eventText, NOW_MS, parseEvent, pickRules, tokenText } from './fixtures';
import { gcOrExit, machine, mib, now, retainedBytes } from './report';

const RULES = Number(process.env.BENCH_RULES ?? 1_000_000);
/** Timed runs of encode and of decode; the median and the fastest are reported. */
const RUNS = 3;
/** Lines of NDJSON parsed and applied to time today's load (a sample, scaled to RULES). */
const NDJSON_SAMPLE = Math.min(RULES, 100_000);
/** Tokens whose decisions must be the same before and after the round trip. */
const TOKENS = 20_000;
const META = {
  topic: 'revocation.invalidations.v1',
  offsets: { '0': '123456', '1': '654321' },
  createdAt: NOW_MS,
};

const gc = gcOrExit();

function ms(start: bigint): number {
  return Number(now() - start) / 1e6;
}

/** Wall time and this process's CPU time (user + system) of one call, in ms. */
interface Timing {
  wall: number;
  cpu: number;
}

function timed<T>(work: () => T): { result: T; timing: Timing } {
  gc();
  const cpu = process.cpuUsage();
  const start = now();
  const result = work();
  const wall = ms(start);
  const used = process.cpuUsage(cpu);
  return { result, timing: { wall, cpu: (used.user + used.system) / 1000 } };
}

function summary(samples: Timing[]): string {
  const figure = (key: keyof Timing): string => {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, fastest ${sorted[0]!.toFixed(0)} ms`;
  };
  return `wall ${figure('wall')}; CPU ${figure('cpu')} (${samples.length} runs)`;
}

function perRule(bytes: number): string {
  return `${(bytes / RULES).toFixed(1)} B/rule`;
}

function buildList(): DenyList {
  const before = retainedBytes(gc);
  const list = new DenyList();
  for (let i = 0; i < RULES; i += 1) {
    list.apply(parseEvent(eventText(i, i + 1)));
  }
  const after = retainedBytes(gc);
  const held = after.heap - before.heap + after.external - before.external;
  console.log(
    `built by apply: ${list.size.toLocaleString('en')} live rules, holding ${mib(held)} = ${perRule(held)} (heapUsed + external delta after gc)`,
  );
  return list;
}

/** Today's format: bytes of the NDJSON lines, and a sample of them parsed and applied. */
function ndjson(list: DenyList): number {
  let bytes = 0;
  const sample: string[] = [];
  for (const version of list.versions()) {
    const line = versionLine(version, NOW_MS);
    bytes += Buffer.byteLength(line) + 1;
    if (sample.length < NDJSON_SAMPLE) {
      sample.push(line);
    }
  }
  gc();
  const start = now();
  const loaded = new DenyList();
  for (const line of sample) {
    loaded.apply(parseEvent(line));
  }
  const loadMs = ms(start);
  console.log(
    `NDJSON (versionLine): ${mib(bytes)} = ${perRule(bytes)}; JSON.parse + apply of ` +
      `${sample.length.toLocaleString('en')} lines ${loadMs.toFixed(0)} ms, so about ` +
      `${((loadMs * RULES) / sample.length / 1000).toFixed(1)} s for ${RULES.toLocaleString('en')} ` +
      '(reading the lines from the stream not included)',
  );
  return bytes;
}

function tokens(): TokenClaims[] {
  const hits = pickRules(TOKENS / 2, RULES, 21, () => true);
  const out: TokenClaims[] = [];
  for (let i = 0; i < TOKENS / 2; i += 1) {
    out.push(JSON.parse(tokenText('hit-revoked', hits[i]!, i)) as TokenClaims);
    out.push(JSON.parse(tokenText('miss', 0, TOKENS + i)) as TokenClaims);
  }
  return out;
}

function main(): void {
  console.log(`# bench:snapshot (${new Date().toISOString()})`);
  console.log(machine());
  console.log(`${RULES.toLocaleString('en')} rules (bench/fixtures.ts mix)\n`);

  let list: DenyList | undefined = buildList();
  const ndjsonBytes = ndjson(list);

  const encodeMs: Timing[] = [];
  let snapshot: Buffer = Buffer.alloc(0);
  for (let run = 0; run < RUNS; run += 1) {
    const encoded = timed(() => list!.toSnapshot(META));
    snapshot = encoded.result;
    encodeMs.push(encoded.timing);
  }
  let largestChunk = 0;
  let chunks = 0;
  const streamStart = now();
  for (const chunk of list.snapshotChunks(META)) {
    largestChunk = Math.max(largestChunk, chunk.length);
    chunks += 1;
  }
  const streamMs = ms(streamStart);
  console.log(
    `\nsnapshot: ${mib(snapshot.length)} = ${perRule(snapshot.length)}, ` +
      `${(ndjsonBytes / snapshot.length).toFixed(1)}x smaller than the NDJSON`,
  );
  console.log(`encode (toSnapshot):     ${summary(encodeMs)}`);
  console.log(
    `encode (snapshotChunks): ${streamMs.toFixed(0)} ms, ${chunks} chunks, largest ${(largestChunk / 1024).toFixed(0)} KiB`,
  );

  const claims = tokens();
  const expected = claims.map((c) => JSON.stringify(list!.check(c)));
  const size = list.size;
  const lastSeq = list.lastSeq;
  list = undefined;

  const before = retainedBytes(gc);
  const first = timed(() => DenyList.fromSnapshot(snapshot).list);
  let loaded: DenyList | undefined = first.result;
  const decodeMs = [first.timing];
  const after = retainedBytes(gc);
  const held = after.heap - before.heap + after.external - before.external;
  let wrong = 0;
  claims.forEach((c, i) => {
    wrong += JSON.stringify(loaded!.check(c)) === expected[i] ? 0 : 1;
  });
  if (loaded.size !== size || loaded.lastSeq !== lastSeq || wrong > 0) {
    throw new Error(`loaded ${loaded.size} rules (lastSeq ${loaded.lastSeq}), ${wrong} wrong`);
  }
  loaded = undefined;
  for (let run = 1; run < RUNS; run += 1) {
    decodeMs.push(timed(() => DenyList.fromSnapshot(snapshot)).timing);
  }
  const hash = timed(() => createHash('sha256').update(snapshot).digest()).timing;
  console.log(
    `decode (fromSnapshot):   ${summary(decodeMs)}; the first (cold) run: wall ${first.timing.wall.toFixed(0)} ms, CPU ${first.timing.cpu.toFixed(0)} ms`,
  );
  console.log(
    `  of which SHA-256 of the input: wall ${hash.wall.toFixed(0)} ms, CPU ${hash.cpu.toFixed(0)} ms`,
  );
  console.log(
    `loaded list holds ${mib(held)} = ${perRule(held)} (heapUsed + external delta after gc)`,
  );
  console.log(
    `${claims.length.toLocaleString('en')} checks (half revoked) give the same decisions before ` +
      `and after; size ${size.toLocaleString('en')} and lastSeq ${lastSeq} kept`,
  );
}

main();
