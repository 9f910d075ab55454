import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/**
 * A reference to another file written in a Markdown document: a `link` (inline, image,
 * reference definition, HTML `href`/`src`), or a `path` named in a code span that reads like a
 * file of the repository (`./x`, `../x`, or anything ending in `.md`), as in "design notes:
 * \`../shared/DESIGN.md\`", which a reader would go and look for just the same.
 */
export interface MarkdownLink {
  target: string;
  line: number;
  kind: 'link' | 'path';
}

/** A reference a reader of the repository cannot follow. */
export interface BrokenLink {
  /** The document, relative to the repository root. */
  file: string;
  line: number;
  target: string;
  problem: 'outside the repository' | 'no such file' | 'malformed';
}

/** A fence opening or closing a code block: three or more backticks or tildes (CommonMark §4.5). */
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** A code span: a run of backticks, content, the same run (CommonMark §6.1). */
const CODE_SPAN = /(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g;
/** Link text: brackets may nest one level (an image inside a link). */
const TEXT = String.raw`\[(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*\]`;
/**
 * `[text](target "title")` and `![alt](target)`; the target may be `<in angle brackets>`. The
 * text is captured too: an image inside a link is a link of its own.
 */
const INLINE = new RegExp(
  String.raw`!?(${TEXT})\(\s*(<[^>\n]*>|[^\s()]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)`,
  'g',
);
/** `[label]: target` (a link reference definition, CommonMark §4.7). */
const DEFINITION = /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm;
/** `href="…"` and `src="…"` of inline HTML. */
const HTML = /\b(?:href|src)\s*=\s*"([^"]*)"/g;
/** A code span's content that names a file: `./x`, `../x`, or a document `x.md` (no glob). */
const PATH_IN_CODE = /^(?:\.\.?\/[^\s`*?]*|[^\s`*?]+\.md)$/;

/** The text with fenced code blocks blanked out, line breaks kept (so line numbers stay). */
function withoutFencedCode(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const opening = FENCE.exec(line)?.[1];
      if (fence === null) {
        if (opening !== undefined) {
          fence = opening;
          return '';
        }
        return line;
      }
      if (opening !== undefined && opening[0] === fence[0] && opening.length >= fence.length) {
        fence = null;
      }
      return '';
    })
    .join('\n');
}

/**
 * Every reference of a Markdown document to another file (see {@link MarkdownLink}). Links count
 * outside code only; fenced blocks are skipped whole. Code spans never cross a blank line, so
 * each paragraph is cleared of them on its own: a span that names a file is kept as a `path`,
 * and every span is blanked (line breaks kept) before links are looked for.
 *
 * @example
 * markdownLinks('See [the design](docs/design.md).');
 * // [{ target: 'docs/design.md', line: 1, kind: 'link' }]
 */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  let line = 1;
  for (const paragraph of withoutFencedCode(markdown).split(/(\n[ \t]*\n)/)) {
    const lineAt = (index: number): number => line + countLines(paragraph.slice(0, index));
    for (const span of paragraph.matchAll(CODE_SPAN)) {
      const content = span[0].slice(span[1]!.length, -span[1]!.length).trim();
      if (PATH_IN_CODE.test(content)) {
        links.push({ target: content, line: lineAt(span.index), kind: 'path' });
      }
    }
    const text = paragraph.replace(CODE_SPAN, (span) => span.replace(/[^\n]/g, ' '));
    const found = (written: string, index: number): void => {
      const target = written.startsWith('<') ? written.slice(1, -1) : written;
      links.push({ target, line: lineAt(index), kind: 'link' });
    };
    for (const { target, index } of inlineLinks(text, 0)) {
      found(target, index);
    }
    for (const pattern of [DEFINITION, HTML]) {
      for (const match of text.matchAll(pattern)) {
        found(match[1]!, match.index);
      }
    }
    line += countLines(paragraph);
  }
  return links.sort((a, b) => a.line - b.line);
}

/** Inline links of `text` (found at `offset` of the paragraph), those inside link texts too. */
function inlineLinks(text: string, offset: number): { target: string; index: number }[] {
  return [...text.matchAll(INLINE)].flatMap((match) => {
    const label = match[1]!;
    const labelAt = match.index + match[0].indexOf(label);
    return [
      ...inlineLinks(label.slice(1, -1), offset + labelAt + 1),
      { target: match[2]!, index: offset + match.index },
    ];
  });
}

const countLines = (text: string): number => text.split('\n').length - 1;

/**
 * Does the target name a file of the repository rather than a place on the web or a heading of
 * the same document? Anything with a scheme (`https:`, `mailto:`), protocol-relative (`//host`)
 * and fragment-only (`#section`) targets are not.
 *
 * @example
 * isRelativeTarget('../shared/DESIGN.md'); // true
 * isRelativeTarget('https://www.rfc-editor.org/rfc/rfc7009'); // false
 */
export function isRelativeTarget(target: string): boolean {
  return (
    target !== '' &&
    !target.startsWith('#') &&
    !target.startsWith('//') &&
    !/^[a-z][a-z0-9+.-]*:/i.test(target)
  );
}

/**
 * The relative references of `file` (a path inside `root`) that a reader of the repository
 * cannot follow. Without `?query` and `#fragment`, a link resolved from the document's folder (or
 * from the root for `/path`, as GitHub does) must name an existing file or folder inside `root`.
 * A path in a code span may also be written from the root (`apps/…` in a document under `docs/`),
 * so either reading will do, but one that leaves the repository from the document's folder is
 * reported as such.
 */
export function brokenLinks(
  root: string,
  file: string,
  markdown: string,
  exists: (absolutePath: string) => boolean = existsSync,
): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const { target, line, kind } of markdownLinks(markdown)) {
    if (!isRelativeTarget(target)) {
      continue;
    }
    const problem = unfollowable(root, file, target, kind, exists);
    if (problem !== undefined) {
      broken.push({ file, line, target, problem });
    }
  }
  return broken;
}

/** Why a reader cannot follow `target` from `file`, or undefined when they can. */
function unfollowable(
  root: string,
  file: string,
  target: string,
  kind: MarkdownLink['kind'],
  exists: (absolutePath: string) => boolean,
): BrokenLink['problem'] | undefined {
  let decoded: string;
  try {
    decoded = kind === 'link' ? decodeURIComponent(target.replace(/[?#].*$/, '')) : target;
  } catch {
    return 'malformed';
  }
  if (decoded === '') {
    return undefined; // `?query` alone: the document itself
  }
  const fromDocument = decoded.startsWith('/')
    ? path.resolve(root, `.${decoded}`)
    : path.resolve(root, path.dirname(file), decoded);
  const candidates = kind === 'path' ? [fromDocument, path.resolve(root, decoded)] : [fromDocument];
  const inside = candidates.filter((candidate) => isInside(root, candidate));
  if (inside.some((candidate) => exists(candidate))) {
    return undefined;
  }
  return isInside(root, fromDocument) ? 'no such file' : 'outside the repository';
}

function isInside(root: string, absolute: string): boolean {
  const relative = path.relative(root, absolute);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * The documentation a contributor reads, relative to `root`: the Markdown files at the top of the
 * repository and every Markdown file under `docs/`.
 */
export function documentationFiles(root: string): string[] {
  const top = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => entry.name);
  const docs = existsSync(path.join(root, 'docs'))
    ? readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => path.join('docs', name))
    : [];
  return [...top, ...docs].sort();
}
