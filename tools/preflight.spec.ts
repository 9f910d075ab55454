import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const PREFLIGHT = path.join(__dirname, 'preflight.js');

/** Runs the real script, as `npm run check` / `npm run demo` do. */
function preflight(
  args: string[],
  env: Record<string, string | undefined> = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [PREFLIGHT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    timeout: 60_000,
  });
}

/** A loopback port nobody listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no TCP port');
  }
  return address.port;
}

/**
 * A project whose only dependency is a local folder, so that `npm ci` installs it offline in a
 * second: its presence in node_modules shows that npm ci ran.
 */
function scratchProject(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rescind-preflight-'));
  mkdirSync(path.join(root, 'dep'));
  writeFileSync(path.join(root, 'dep/package.json'), '{"name":"dep","version":"1.0.0"}');
  const manifest = { name: 'scratch', version: '1.0.0', dependencies: { dep: 'file:dep' } };
  writeFileSync(path.join(root, 'package.json'), JSON.stringify(manifest));
  const lock = {
    name: 'scratch',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': manifest,
      dep: { version: '1.0.0' },
      'node_modules/dep': { resolved: 'dep', link: true },
    },
  };
  writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock));
  return root;
}

describe('tools/preflight.js', () => {
  describe('npm packages', () => {
    let root: string;
    beforeEach(() => {
      root = scratchProject();
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('runs npm ci when node_modules is missing', () => {
      const result = preflight(['check', '--root', root, '--only', 'packages']);

      expect(result.stderr).toContain('rescind: no node_modules yet; running npm ci');
      expect(result.status).toBe(0);
      expect(existsSync(path.join(root, 'node_modules/dep/package.json'))).toBe(true);
    });

    it('does not run npm ci again while node_modules is newer than package-lock.json', () => {
      expect(preflight(['demo', '--root', root, '--only', 'packages']).status).toBe(0);
      rmSync(path.join(root, 'node_modules/dep'));

      const result = preflight(['demo', '--root', root, '--only', 'packages']);

      expect(result.status).toBe(0);
      expect(result.stderr).not.toContain('npm ci');
      expect(existsSync(path.join(root, 'node_modules/dep'))).toBe(false);
    });

    it('runs npm ci again once package-lock.json is newer than the last install', () => {
      expect(preflight(['demo', '--root', root, '--only', 'packages']).status).toBe(0);
      rmSync(path.join(root, 'node_modules/dep'));
      const later = new Date(Date.now() + 60_000);
      utimesSync(path.join(root, 'package-lock.json'), later, later);

      const result = preflight(['demo', '--root', root, '--only', 'packages']);

      expect(result.stderr).toContain('package-lock.json changed since the last install');
      expect(result.status).toBe(0);
      expect(existsSync(path.join(root, 'node_modules/dep/package.json'))).toBe(true);
    });

    it('names npm ci in one line and exits 1 when it fails', () => {
      writeFileSync(path.join(root, 'package-lock.json'), '{ not json');

      const result = preflight(['demo', '--root', root, '--only', 'packages']);

      expect(result.status).toBe(1);
      expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(
        /^rescind: npm ci failed \(exit \d+\) — see npm's output above$/,
      );
    });
  });

  describe('PostgreSQL', () => {
    it('says in one line that nothing answers on DATABASE_URL and exits 1 at once (demo)', async () => {
      const port = await unusedPort();
      const started = Date.now();

      const result = preflight(['demo', '--only', 'postgres'], {
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      });

      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^rescind: PostgreSQL is not answering on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\) — .*start it.* or set DATABASE_URL\\n$`,
        ),
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('names TEST_DATABASE_URL for the test command', async () => {
      const port = await unusedPort();

      const result = preflight(['check', '--only', 'postgres'], {
        TEST_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test`,
      });

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/ or set TEST_DATABASE_URL\n$/);
      expect(result.stderr.split('\n')).toHaveLength(2);
    });
  });

  describe('tools only a person can install', () => {
    // No java, mvn or promtool on this PATH; node itself is run by absolute path.
    const nothing = { PATH: path.join(tmpdir(), 'rescind-preflight-empty-path') };

    it.each([
      [
        'java',
        /^rescind: Java is missing, .* \(Debian: apt-get install openjdk-17-jre-headless\)\n$/,
      ],
      ['promtool', /^rescind: promtool is missing, .* \(Debian: apt-get install prometheus\)\n$/],
    ])('names the package to install when %s is missing', (step, line) => {
      const result = preflight(['check', '--only', step], nothing);

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(line);
    });

    it('asks for Maven only while the Kafka jars are not cached', () => {
      const root = mkdtempSync(path.join(tmpdir(), 'rescind-preflight-'));
      try {
        mkdirSync(path.join(root, 'tools/kafka'), { recursive: true });
        writeFileSync(
          path.join(root, 'tools/kafka/pom.xml'),
          '<kafka.version>0.0.1</kafka.version>',
        );

        const result = preflight(['demo', '--root', root, '--only', 'maven'], nothing);

        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/^rescind: Maven is missing, .*apt-get install maven\)\n$/);

        const pom = readFileSync(path.join(root, 'tools/kafka/pom.xml'));
        mkdirSync(path.join(root, '.cache/kafka/0.0.1/libs'), { recursive: true });
        writeFileSync(
          path.join(root, '.cache/kafka/0.0.1/libs.sha256'),
          createHash('sha256').update(pom).digest('hex'),
        );
        expect(preflight(['demo', '--root', root, '--only', 'maven'], nothing).status).toBe(0);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  it('refuses a step name it does not know, so that a typo cannot pass', () => {
    const result = preflight(['check', '--only', 'postgre']);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rescind: no step postgre in check: /);
  });
});
