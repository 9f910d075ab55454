import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

/** Loads an entry point in a fresh Node process and lists the web frameworks it pulled in. */
function frameworksLoadedBy(entry: string): string[] {
  const script = `
    require(${JSON.stringify(entry)});
    const loaded = Object.keys(require.cache)
      .map((file) => /node_modules\\/((?:@nestjs\\/)?[^/]+)\\//.exec(file)?.[1])
      .filter((name) => name && /^(@nestjs\\/|fastify$|express$)/.test(name));
    process.stdout.write(JSON.stringify([...new Set(loaded)].sort()));`;
  const output = execFileSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', '-e', script],
    { cwd: root, encoding: 'utf8', env: { ...process.env, TS_NODE_PROJECT: 'tsconfig.json' } },
  );
  return JSON.parse(output) as string[];
}

describe('entry points of @rescind/revocation-consumer', () => {
  it('the core entry point loads no web framework, so Express, Fastify and plain services need none', () => {
    expect(frameworksLoadedBy('@rescind/revocation-consumer')).toEqual([]);
  });

  it('the /prometheus entry point loads no web framework either', () => {
    expect(frameworksLoadedBy('@rescind/revocation-consumer/prometheus')).toEqual([]);
  });

  it('the /nest entry point brings the NestJS integration and its framework', () => {
    expect(frameworksLoadedBy('@rescind/revocation-consumer/nest')).toEqual(
      expect.arrayContaining(['@nestjs/common']),
    );
  });
});
