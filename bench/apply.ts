/**
 * How fast invalidation events get into a DenyList: `apply` alone, and the whole per-message
 * path of the consumer (bytes -> JSON.parse -> zod safeParse -> apply).
 *
 *   npm run bench:apply            (BENCH_RULES=200000 npm run bench:apply for a quicker run)
 */
import { InvalidationEventV1Schema } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import { DenyList as BaselineDenyList } from './baseline/deny-list';
import { eventText, parseEvent } from './fixtures';
import { gcOrExit, machine, now, ns, rate } from './report';

const RULES = Number(process.env.BENCH_RULES ?? 1_000_000);
/** Events prepared (untimed) per chunk, so the prepared input stays small next to the list. */
const CHUNK = 100_000;
const WARMUP = 50_000;

const gc = gcOrExit();

/** `BENCH_IMPL=baseline` measures the DenyList as it was before the compact rewrite. */
const IMPL = process.env.BENCH_IMPL === 'baseline' ? 'baseline' : 'current';
type List = Pick<DenyList, 'apply' | 'size' | 'lastSeq'>;
const newList = (): List => (IMPL === 'baseline' ? new BaselineDenyList() : new DenyList());

interface Timing {
  calls: number;
  ns: number;
}

function report(label: string, timing: Timing, note = ''): number {
  const perSecond = (timing.calls / timing.ns) * 1e9;
  console.log(
    `${label.padEnd(44)} ${rate(perSecond).padStart(10)}  (${ns(timing.ns / timing.calls)}/event)${note}`,
  );
  return perSecond;
}

/** Messages as the consumer receives them from kafkajs: Buffers of JSON. */
function messages(from: number, count: number, seqOffset: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < from + count; i += 1) {
    out.push(Buffer.from(eventText(i, seqOffset + i + 1)));
  }
  return out;
}

/** Applies pre-parsed events for rules [0, RULES) with seq offset; only `apply` is timed. */
function applyOnly(list: List, seqOffset: number): Timing {
  let total = 0;
  for (let from = 0; from < RULES; from += CHUNK) {
    const count = Math.min(CHUNK, RULES - from);
    const events = messages(from, count, seqOffset).map((b) => parseEvent(b.toString('utf8')));
    gc();
    const start = now();
    for (let i = 0; i < count; i += 1) {
      list.apply(events[i]!);
    }
    total += Number(now() - start);
  }
  return { calls: RULES, ns: total };
}

/** The consumer's per-message path (MessageApplier.apply in message-applier.ts, minus tracing and events). */
function consumerPath(list: List, from: number, count: number, seqOffset = 0): Timing {
  const buffers = messages(from, count, seqOffset);
  gc();
  const start = now();
  for (let i = 0; i < count; i += 1) {
    const json: unknown = JSON.parse(buffers[i]!.toString('utf8'));
    const parsed = InvalidationEventV1Schema.safeParse(json);
    if (!parsed.success) {
      throw new Error(`fixture is not a valid event: ${parsed.error.message}`);
    }
    list.apply(parsed.data);
  }
  return { calls: count, ns: Number(now() - start) };
}

function main(): void {
  console.log(`# bench:apply (${new Date().toISOString()})`);
  console.log(machine());
  console.log(
    `method: ${RULES.toLocaleString('en')} distinct rules (the bench:check mix), prepared in chunks of ` +
      `${CHUNK.toLocaleString('en')} outside the timed loop, gc() before each timed chunk; ` +
      `the list grows from empty to ${RULES.toLocaleString('en')} rules while being timed, GC included. ` +
      `Warm-up: ${WARMUP.toLocaleString('en')} events of each path into a throwaway list.`,
  );
  consumerPath(newList(), 0, WARMUP);
  applyOnly(newList(), 0);
  gc();

  console.log(`\n## DenyList.apply only, ${IMPL} DenyList (events already parsed and validated)`);
  const list = newList();
  const inserts = report('new rules, list growing 0 -> N', applyOnly(list, 0));
  report('newer version of every rule (higher seq)', applyOnly(list, RULES));
  report('stale redelivery of every rule (ignored)', applyOnly(list, 0));
  console.log(`list holds ${list.size.toLocaleString('en')} rules, lastSeq ${list.lastSeq}`);

  console.log('\n## The consumer per message: Buffer -> JSON.parse -> zod safeParse -> apply');
  const fresh = newList();
  let total: Timing = { calls: 0, ns: 0 };
  for (let from = 0; from < RULES; from += CHUNK) {
    const t = consumerPath(fresh, from, Math.min(CHUNK, RULES - from));
    total = { calls: total.calls + t.calls, ns: total.ns + t.ns };
  }
  const full = report('parse + validate + apply, list growing 0 -> N', total);

  // Where the time goes, on one chunk of messages for rules not yet in `fresh`' list.
  const buffers = messages(RULES, CHUNK, 0);
  gc();
  let start = now();
  const texts = buffers.map((b) => b.toString('utf8'));
  const decodeNs = Number(now() - start);
  gc();
  start = now();
  const objects = texts.map((t) => JSON.parse(t) as unknown);
  const parseNs = Number(now() - start);
  gc();
  start = now();
  let valid = 0;
  for (const object of objects) {
    valid += InvalidationEventV1Schema.safeParse(object).success ? 1 : 0;
  }
  const zodNs = Number(now() - start);
  console.log(`breakdown on ${CHUNK.toLocaleString('en')} more messages (${valid} valid):`);
  const perEvent = (label: string, n: number): void => {
    console.log(`  ${label.padEnd(24)} ${ns(n / CHUNK)}/event`);
  };
  perEvent('Buffer -> string', decodeNs);
  perEvent('JSON.parse', parseNs);
  perEvent('zod safeParse', zodNs);
  console.log(`  ${'DenyList.apply'.padEnd(24)} ${ns(1e9 / inserts)}/event (new rules, above)`);
  const zodShare = zodNs / CHUNK / (1e9 / full);
  console.log(
    `zod safeParse is ${(zodShare * 100).toFixed(0)}% of the consumer's per-message time` +
      (zodShare > 0.5 ? ': validation dominates, not the DenyList.' : '.'),
  );
}

main();
