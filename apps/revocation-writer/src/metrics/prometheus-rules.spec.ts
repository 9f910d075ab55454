import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const rules = join(__dirname, '../../../../deploy/prometheus');

/** Runs promtool (Debian package `prometheus`), required: .ci/run installs it. */
function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: rules, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: string; stdout?: string; stderr?: string };
    throw new Error(
      code === 'ENOENT'
        ? 'promtool not found: install it (Debian: apt-get install prometheus)'
        : `promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

describe('deploy/prometheus/rescind-writer.rules.yml', () => {
  it('passes promtool check rules', () => {
    expect(promtool('check', 'rules', 'rescind-writer.rules.yml')).toContain(
      'SUCCESS: 7 rules found',
    );
  });

  it('fires on a stuck outbox, dead letters, API errors, refused callers and a mass revocation, and only then (promtool test rules)', () => {
    expect(promtool('test', 'rules', 'rescind-writer.rules.test.yml')).toContain('SUCCESS');
  });
});
