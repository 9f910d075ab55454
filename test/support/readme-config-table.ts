/* eslint-disable jest/no-export -- a support module: it registers a shared suite in the specs that call it */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';

const README = join(__dirname, '../../README.md');

/** The body rows of the first table under `heading` (up to the next heading), trimmed cells. */
export function readmeTable(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) {
    throw new Error(`README has no section "${heading}"`);
  }
  const body = markdown.slice(start + heading.length + 2);
  const next = body.search(/^#{1,6} /m);
  const lines = (next < 0 ? body : body.slice(0, next))
    .split('\n')
    .filter((line) => line.startsWith('|'));
  // Skip the header and its |---| separator.
  return lines.slice(2).map((line) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim()),
  );
}

/** `value` (in backticks, and nothing else) is a literal value; any other cell is prose. */
const literal = (cell: string): string | undefined => /^`([^`]+)`$/.exec(cell)?.[1];

/**
 * Where README's configuration table under `heading` (columns: variable, default, meaning) and an
 * app's environment schema disagree; every list is empty when the table mirrors the schema.
 *
 * A default cell is either a literal in backticks, fed to the schema as the variable's value (so
 * `65536` matches `64 * 1024`, `hr,idp` a list), or prose in parentheses; a variable with a
 * default must state it, or `(none)` when it defaults to an empty list. Rows such as `OTEL_*`
 * document variables a library reads, not the schema, and are left alone.
 */
export function configTableMismatches(
  heading: string,
  schema: z.ZodObject<Record<string, z.ZodType>>,
) {
  const shape: Record<string, z.ZodType> = schema.shape;
  const rows = readmeTable(readFileSync(README, 'utf8'), heading)
    .map(([name = '', fallback = '']) => ({ name, fallback, variable: literal(name) ?? '' }))
    .filter((row) => !/^`[A-Z0-9_]+_\*`$/.test(row.name));
  /** What the app runs with when the variable is unset (undefined: nothing, or it is required). */
  const unsetValue = (variable: string): unknown => shape[variable]?.safeParse(undefined).data;
  const documented = rows.map((row) => row.variable);
  return {
    /** Rows that do not name exactly one variable, in backticks. */
    malformedRows: rows.filter((row) => !/^[A-Z][A-Z0-9_]*$/.test(row.variable)),
    /** Variables of the schema without a row. */
    undocumented: Object.keys(shape).filter((variable) => !documented.includes(variable)),
    /** Rows naming a variable the schema does not read, or one named already. */
    unknownOrRepeated: documented.filter(
      (variable, i) => !(variable in shape) || documented.indexOf(variable) !== i,
    ),
    /** Variables with a default whose row states none. */
    unstatedDefaults: rows
      .filter(({ variable, fallback }) => {
        const fallsBackTo = unsetValue(variable);
        const none = Array.isArray(fallsBackTo) && fallsBackTo.length === 0;
        return (
          fallsBackTo !== undefined &&
          literal(fallback) === undefined &&
          !(none && fallback === '(none)')
        );
      })
      .map(({ variable, fallback }) => ({ variable, fallback })),
    /** Stated defaults that are not what the app falls back to (or that it has no default). */
    wrongDefaults: rows.flatMap(({ variable, fallback }) => {
      const stated = literal(fallback);
      const field = shape[variable];
      if (stated === undefined || field === undefined) {
        return [];
      }
      const fallsBackTo = unsetValue(variable);
      return fallsBackTo !== undefined &&
        isDeepStrictEqual(field.safeParse(stated).data, fallsBackTo)
        ? []
        : [{ variable, stated, fallsBackTo }];
    }),
  };
}

/**
 * The README's configuration table of one app, checked against its env schema: registers the
 * tests in the calling spec (`app` names who falls back to the defaults, for the titles).
 */
export function describeReadmeConfigTable(
  section: string,
  schema: Parameters<typeof configTableMismatches>[1],
  app: string,
): void {
  describe(`README "${section}"`, () => {
    const mismatches = configTableMismatches(section, schema);

    it('documents one variable per row, each by its name in backticks', () => {
      expect(mismatches.malformedRows).toEqual([]);
    });

    it('documents every variable of the schema, each once, and nothing the schema does not read', () => {
      expect(mismatches.undocumented).toEqual([]);
      expect(mismatches.unknownOrRepeated).toEqual([]);
    });

    it('states the default of every variable that has one, or `(none)` for an empty list', () => {
      expect(mismatches.unstatedDefaults).toEqual([]);
    });

    it(`states as defaults only values the ${app} itself falls back to`, () => {
      expect(mismatches.wrongDefaults).toEqual([]);
    });
  });
}
