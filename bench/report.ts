/** Small helpers the benchmarks share: machine description, percentiles, formatting, heap. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** One line naming the machine and runtime, so figures are never quoted without it. */
export function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    model = line?.split(':')[1]?.trim() ?? model;
  } catch {
    // not Linux: keep os.cpus()
  }
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return (
    `${cpus().length} CPU(s) "${model}", ${gib} GiB RAM, node ${process.version} ` +
    `(V8 ${process.versions.v8}), ${process.platform}/${process.arch}, load average ${load} ` +
    '(other work on the machine skews timings)'
  );
}

/** Percentile of an ascending-sorted array (nearest rank). */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function ns(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${value.toFixed(0)} ns`;
}

export function rate(perSecond: number): string {
  if (perSecond >= 1e6) {
    return `${(perSecond / 1e6).toFixed(2)} M/s`;
  }
  if (perSecond >= 1e3) {
    return `${(perSecond / 1e3).toFixed(1)} k/s`;
  }
  return `${perSecond.toFixed(0)} /s`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** `global.gc`, which needs `node --expose-gc`; the benchmarks refuse to guess without it. */
export function gcOrExit(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.error('run with node --expose-gc (see the npm scripts bench:*)');
    process.exit(2);
  }
  return gc;
}

/**
 * Bytes the process holds for JS objects: the V8 heap plus memory outside it that JS objects
 * own (ArrayBuffer backing stores of typed arrays are not in `heapUsed`), after full GCs.
 */
export function retainedBytes(gc: () => void): { heap: number; external: number } {
  for (let i = 0; i < 3; i += 1) {
    gc();
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external };
}

export function now(): bigint {
  return process.hrtime.bigint();
}

/** Calls `fn` and returns how many nanoseconds it took. */
export function timeNs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}
