/**
 * What keeping an on-disk copy of the deny-list (`persistPath`) costs an enforcement point with
 * a million rules: how long a save and a load take, how large the file is, and, the figure that
 * matters on a gateway, the longest the event loop is blocked while saving (requests wait that
 * long). The consumer saves every `persistIntervalMs` (default 30 s) and on stop.
 *
 *   npm run bench:persist          (BENCH_RULES=200000 for a quicker run)
 *   BENCH_IMPL=baseline npm run bench:persist   (the one-JSON-document format it replaced)
 */
import type { InvalidationEventV1 } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
// Benchmarks measure internals on purpose (see eslint.config.mjs).
import { loadList, saveList } from '../libs/revocation-consumer/src/persistence';
import * as baseline from './baseline/persistence';
import { eventText, parseEvent } from './fixtures';
import { gcOrExit, machine, mib, now } from './report';

const RULES = Number(process.env.BENCH_RULES ?? 1_000_000);
const IMPL = process.env.BENCH_IMPL === 'baseline' ? 'baseline' : 'current';
const TOPIC = 'revocation.invalidations.v1';
const OFFSETS = new Map([
  [0, 123_456n],
  [1, 654_321n],
]);

const gc = gcOrExit();

/** Runs `work` while sampling the event loop's delay; returns its duration and the worst stall. */
async function measured<T>(
  work: () => Promise<T>,
): Promise<{ result: T; ms: number; maxStallMs: number }> {
  gc();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = now();
  const result = await work();
  const ms = Number(now() - start) / 1e6;
  // Let the sampling timer fire once more: a stall at the very end of `work` is only recorded then.
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  return { result, ms, maxStallMs: delay.max / 1e6 };
}

async function main(): Promise<void> {
  console.log(machine());
  console.log(`implementation: ${IMPL}, ${RULES.toLocaleString('en')} rules\n`);
  const list = new DenyList();
  for (let i = 0; i < RULES; i += 1) {
    list.apply(parseEvent(eventText(i, i + 1)));
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'rescind-bench-'));
  const file = path.join(dir, 'deny-list');
  try {
    const save = await measured(() =>
      IMPL === 'baseline'
        ? baseline.saveList(file, TOPIC, list.versions(), OFFSETS)
        : saveList(file, TOPIC, list.versions(), OFFSETS).then(() => undefined),
    );
    const bytes = (await stat(file)).size;
    const load = await measured(async () => {
      const loaded = new DenyList();
      if (IMPL === 'baseline') {
        const saved = await baseline.loadList(file, TOPIC);
        saved?.events.forEach((event: InvalidationEventV1) => loaded.apply(event));
      } else {
        await loadList(file, TOPIC, (event) => loaded.apply(event));
      }
      return loaded.size;
    });
    if (load.result !== list.size) {
      throw new Error(`loaded ${load.result} rules, saved ${list.size}`);
    }
    console.log(
      `file size                        ${mib(bytes)} (${(bytes / RULES).toFixed(0)} B/rule)`,
    );
    console.log(`save                             ${save.ms.toFixed(0)} ms`);
    console.log(`longest event-loop stall, save   ${save.maxStallMs.toFixed(1)} ms`);
    console.log(`load (into a new DenyList)       ${load.ms.toFixed(0)} ms`);
    console.log(`longest event-loop stall, load   ${load.maxStallMs.toFixed(1)} ms`);
    console.log(`peak RSS                         ${mib(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
