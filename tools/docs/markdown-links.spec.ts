import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { brokenLinks, documentationFiles, isRelativeTarget, markdownLinks } from './markdown-links';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** What a newcomer is sent to first; each must exist, so that its links are checked too. */
const REQUIRED = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'docs/design.md',
  'docs/adr/README.md',
];

describe('the documentation stands alone', () => {
  it.each(REQUIRED)('has %s', (file) => {
    expect(documentationFiles(ROOT)).toContain(file);
  });

  it.each(documentationFiles(ROOT))(
    '%s links only to files that exist inside the repository',
    (file) => {
      expect(brokenLinks(ROOT, file, read(file))).toEqual([]);
    },
  );

  it('names no document kept outside the repository in code comments (DESIGN/CONVENTIONS are docs/design.md and CONTRIBUTING.md)', () => {
    // Spelled in pieces; the link checker and this spec name them as examples, so are left out.
    const outside = new RegExp(
      ['DESIGN', 'CONVENTIONS'].map((name) => `\\b${name}\\.md`).join('|'),
    );
    const offending = ['apps', 'libs', 'test', 'bench', 'tools']
      .flatMap((dir) =>
        readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((name) =>
          path.join(dir, name),
        ),
      )
      .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.includes('node_modules'))
      .filter((file) => !file.startsWith(path.join('tools', 'docs')))
      .filter((file) => outside.test(read(file)));
    expect(offending).toEqual([]);
  });
});

describe(markdownLinks.name, () => {
  it('finds inline links, images, reference definitions and HTML links, with their lines', () => {
    const markdown = [
      'See [the design](docs/design.md "Design") and ![a diagram](<docs/a b.png>).',
      '',
      '[![badge](badge.svg)](CONTRIBUTING.md)',
      '[license]: LICENSE',
      '<a href="SECURITY.md">security</a>',
    ].join('\n');
    expect(markdownLinks(markdown)).toEqual([
      { target: 'docs/design.md', line: 1, kind: 'link' },
      { target: 'docs/a b.png', line: 1, kind: 'link' },
      { target: 'badge.svg', line: 3, kind: 'link' },
      { target: 'CONTRIBUTING.md', line: 3, kind: 'link' },
      { target: 'LICENSE', line: 4, kind: 'link' },
      { target: 'SECURITY.md', line: 5, kind: 'link' },
    ]);
  });

  it('takes no link from code (fenced blocks, code spans, also those that wrap a line)', () => {
    const markdown = [
      '```md',
      '[in a fence](fenced.md)',
      '```',
      '~~~',
      '[in a tilde fence](tilde.md)',
      '~~~',
      'Run `[x](span.md)` or ``a `[y](double.md)` b``, `promtool test',
      '[z](wrapped.md)` then [real](real.md).',
    ].join('\n');
    expect(markdownLinks(markdown)).toEqual([{ target: 'real.md', line: 8, kind: 'link' }]);
  });

  it('takes a code span that names a file as a path: ./x, ../x, or a document x.md, no glob', () => {
    const markdown = [
      'Read `docs/design.md`, `../shared/x.txt` and `./tools/preflight.js`;',
      'not `npm run check`, `docs/**/*.md` or `libs/rules/src/rule.ts`.',
    ].join('\n');
    expect(markdownLinks(markdown)).toEqual([
      { target: 'docs/design.md', line: 1, kind: 'path' },
      { target: '../shared/x.txt', line: 1, kind: 'path' },
      { target: './tools/preflight.js', line: 1, kind: 'path' },
    ]);
  });
});

describe(isRelativeTarget.name, () => {
  it.each(['docs/design.md', '../shared/DESIGN.md', '/LICENSE', 'BENCHMARKS.md#results'])(
    'takes %s for a file of the repository',
    (target) => {
      expect(isRelativeTarget(target)).toBe(true);
    },
  );

  it.each(['https://www.rfc-editor.org/rfc/rfc7009', 'mailto:x@example.com', '#layout', '//cdn'])(
    'leaves %s alone',
    (target) => {
      expect(isRelativeTarget(target)).toBe(false);
    },
  );
});

describe(brokenLinks.name, () => {
  it('reports the design notes the README once sent readers to: they are outside the repository', () => {
    // The README's line until c4b9c10, then the same as links.
    const readme = [
      'Design notes: `../shared/DESIGN.md` (rule model, promises) and `../shared/CONVENTIONS.md`.',
      'Design notes: [DESIGN](../shared/DESIGN.md) and [the design](docs/design.md).',
    ].join('\n');
    const outside = (line: number, target: string) => ({
      file: 'README.md',
      line,
      target,
      problem: 'outside the repository',
    });
    expect(brokenLinks(ROOT, 'README.md', readme)).toEqual([
      outside(1, '../shared/DESIGN.md'),
      outside(1, '../shared/CONVENTIONS.md'),
      outside(2, '../shared/DESIGN.md'),
    ]);
  });

  it('reads a path in a code span from the document folder or from the root', () => {
    const adr = '`README.md`, `apps/revocation-writer/src/main.ts`? `CONVENTIONS.md`, `./0099.md`';
    expect(brokenLinks(ROOT, 'docs/adr/0003-x.md', adr)).toEqual([
      { file: 'docs/adr/0003-x.md', line: 1, target: 'CONVENTIONS.md', problem: 'no such file' },
      { file: 'docs/adr/0003-x.md', line: 1, target: './0099.md', problem: 'no such file' },
    ]);
  });

  it('resolves from the document folder, from the root for /path, and without query or fragment', () => {
    const adr = [
      '[design](../design.md#promises) [root](/README.md?plain=1) [self](#context)',
      '[up too far](../../../etc/passwd) [missing](0099-none.md) [bad](%E0%A4%A.md)',
    ].join('\n');
    expect(brokenLinks(ROOT, 'docs/adr/0003-x.md', adr)).toEqual([
      {
        file: 'docs/adr/0003-x.md',
        line: 2,
        target: '../../../etc/passwd',
        problem: 'outside the repository',
      },
      { file: 'docs/adr/0003-x.md', line: 2, target: '0099-none.md', problem: 'no such file' },
      { file: 'docs/adr/0003-x.md', line: 2, target: '%E0%A4%A.md', problem: 'malformed' },
    ]);
  });
});
