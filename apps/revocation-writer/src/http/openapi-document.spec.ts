import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RevocationResultSchema } from '../write-path/revocation-result';
import type { OpenApiFragment, OpenApiOptions } from './openapi-common';
import { buildOpenApiDocument, mergeOpenApiFragments, OPENAPI_FRAGMENTS } from './openapi-document';

const OPTIONS: OpenApiOptions = {
  allowedClaims: ['jti', 'sub'],
  broadClaims: ['iss'],
  bulkConfirmThreshold: 10,
};

interface Document {
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, { operationId: string }>>;
  components: Record<string, Record<string, Record<string, unknown>>>;
}
const build = (fragments: readonly OpenApiFragment[]) =>
  mergeOpenApiFragments(fragments, OPTIONS) as unknown as Document;

/** A fragment with one GET operation on each of `paths`. */
const fragment = (name: string, paths: string[], extra: Partial<OpenApiFragment> = {}) => ({
  name,
  paths: () =>
    Object.fromEntries(
      paths.map((path) => [
        path,
        { get: { operationId: `${name}${path}`, responses: { '200': { description: 'ok' } } } },
      ]),
    ),
  ...extra,
});

/** Every fragment exported by a `<capability>/openapi.ts` or `http/openapi-*.ts` of the writer. */
async function fragmentsInSourceTree(): Promise<Array<[file: string, fragment: OpenApiFragment]>> {
  const root = join(__dirname, '..');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) =>
    /(^|\/)openapi(-[\w-]+)?\.ts$/.test(file),
  );
  const found: Array<[string, OpenApiFragment]> = [];
  for (const file of files.sort()) {
    const exports = (await import(join(root, file))) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value === 'object' && value !== null && 'name' in value) {
        found.push([file, value as OpenApiFragment]);
      }
    }
  }
  return found;
}

describe(mergeOpenApiFragments.name, () => {
  it('refuses a path documented by two fragments', () => {
    expect(() => build([fragment('a', ['/x']), fragment('b', ['/y', '/x'])])).toThrow(
      'OpenAPI: path "/x" is declared by "a" and "b"',
    );
  });

  it('refuses a component schema name taken twice, by a request and a response schema', () => {
    const one = fragment('a', ['/x'], { requestSchemas: { Thing: z.object({ a: z.string() }) } });
    const two = fragment('b', ['/y'], { responseSchemas: { Thing: z.object({ b: z.string() }) } });
    expect(() => build([one, two])).toThrow('OpenAPI: schema "Thing" is declared by "a" and "b"');
  });

  it('refuses a shared response, header or security scheme declared twice', () => {
    const withResponse = (name: string) =>
      fragment(name, [`/${name}`], { components: { responses: { Gone: { description: name } } } });
    expect(() => build([withResponse('a'), withResponse('b')])).toThrow(
      'OpenAPI: response "Gone" is declared by "a" and "b"',
    );
  });

  it('refuses two operations with one operationId', () => {
    const reused = fragment('b', ['/y'], {
      paths: () => ({ '/y': { post: { operationId: 'a/x', responses: {} } } }),
    });
    expect(() => build([fragment('a', ['/x']), reused])).toThrow(
      'OpenAPI: operationId "a/x" is used by get /x and post /y',
    );
  });

  it('orders paths, tags and schemas as the fragments are ordered', () => {
    const a = fragment('a', ['/a1', '/a2'], {
      tags: [{ name: 'ta' }],
      responseSchemas: { A: z.object({ a: z.string() }) },
    });
    const b = fragment('b', ['/b1'], {
      tags: [{ name: 'tb' }],
      responseSchemas: { B: z.object({ b: z.string() }) },
    });
    const document = build([b, a]);
    expect(Object.keys(document.paths)).toEqual(['/b1', '/a1', '/a2']);
    expect(document.tags.map((tag) => tag.name)).toEqual(['tb', 'ta']);
    expect(Object.keys(document.components.schemas!)).toEqual(['B', 'A']);
  });
});

describe(buildOpenApiDocument.name, () => {
  const document = buildOpenApiDocument(OPTIONS) as unknown as Document;

  it('merges every fragment of the source tree, each one once', async () => {
    const found = await fragmentsInSourceTree();
    // The capabilities that document routes, plus the common components.
    expect(found.length).toBeGreaterThanOrEqual(10);
    for (const [file, each] of found) {
      expect([file, OPENAPI_FRAGMENTS.includes(each)]).toEqual([file, true]);
    }
    expect(new Set(OPENAPI_FRAGMENTS).size).toBe(OPENAPI_FRAGMENTS.length);
    expect(OPENAPI_FRAGMENTS.length).toBe(found.length);
  });

  it("contains every fragment's paths, tags and components", () => {
    for (const each of OPENAPI_FRAGMENTS) {
      for (const path of Object.keys(each.paths?.(OPTIONS) ?? {})) {
        expect([each.name, path, path in document.paths]).toEqual([each.name, path, true]);
      }
      for (const tag of each.tags ?? []) {
        expect(document.tags).toContainEqual(tag);
      }
      const schemas = { ...each.requestSchemas, ...each.responseSchemas };
      for (const name of Object.keys(schemas)) {
        expect([each.name, name, name in document.components.schemas!]).toEqual([
          each.name,
          name,
          true,
        ]);
      }
      for (const kind of ['securitySchemes', 'responses', 'headers'] as const) {
        for (const [name, value] of Object.entries(each.components?.[kind] ?? {})) {
          expect([kind, name, document.components[kind]?.[name]]).toEqual([kind, name, value]);
        }
      }
    }
  });

  it('builds the same document every time', () => {
    expect(JSON.stringify(buildOpenApiDocument(OPTIONS))).toBe(JSON.stringify(document));
  });

  it("references a schema of another fragment instead of copying it (an AuditEntry's Rule)", () => {
    expect(JSON.stringify(document.components.schemas!.AuditEntry)).toContain(
      '"$ref":"#/components/schemas/Rule"',
    );
  });

  it('documents the 202 of the event endpoints as the RevocationResult the use case returns', () => {
    // Without `$schema`: inside components the dialect is the document's jsonSchemaDialect.
    const expected = Object.fromEntries(
      Object.entries(z.toJSONSchema(RevocationResultSchema, { io: 'output' })).filter(
        ([keyword]) => keyword !== '$schema',
      ),
    );
    expect(document.components.schemas!.EventAccepted).toEqual(expected);
  });
});
