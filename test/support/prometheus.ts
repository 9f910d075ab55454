import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** deploy/prometheus: the rules files and their promtool tests. */
export const PROMETHEUS_RULES = join(__dirname, '../../deploy/prometheus');

/** Runs promtool (Debian package `prometheus`) in deploy/prometheus; .ci/run installs it. */
export function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, {
      cwd: PROMETHEUS_RULES,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: string; stdout?: string; stderr?: string };
    throw new Error(
      code === 'ENOENT'
        ? 'promtool not found: install it (Debian: apt-get install prometheus)'
        : `promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

/**
 * The value of the sample `name` whose labels include `labels` (in any order) in a Prometheus
 * text scrape; 0 when there is none (a counter not yet incremented is not exported).
 */
export function sampleValue(
  scrape: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  for (const line of scrape.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (sample?.[1] !== name) {
      continue;
    }
    const present = new Map(
      [...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    const matches = Object.entries(labels).every(([label, value]) => present.get(label) === value);
    if (matches) {
      return Number(sample[3]);
    }
  }
  return 0;
}
