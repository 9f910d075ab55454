import type {
  CreatedRevocation,
  RulePage,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import type { AuditPage } from '../../apps/revocation-writer/src/revocations/dto/audit.dto';
import { call, type OperatorHarness, startOperatorHarness } from '../support/operator';

/** The parts of an OpenAPI 3.1 document these tests read. */
interface SchemaObject {
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  enum?: unknown[];
  [keyword: string]: unknown;
}
interface Operation {
  operationId: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: SchemaObject }>;
  responses: Record<string, unknown>;
}
type Method = (typeof METHODS)[number];
type PathItem = Partial<Record<Method, Operation>>;
interface OpenApiDocument {
  openapi: string;
  jsonSchemaDialect: string;
  info: Record<string, unknown>;
  security: unknown;
  paths: Record<string, PathItem>;
  components: {
    securitySchemes: Record<string, Record<string, unknown>>;
    schemas: Record<string, SchemaObject>;
    responses: Record<string, { content: Record<string, unknown> }>;
  };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every `$ref` anywhere in `node`. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) {
    node.forEach((n) => refs(n, found));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        found.push(value);
      } else {
        refs(value, found);
      }
    }
  }
  return found;
}

/** Resolves a local JSON Pointer reference (`#/components/...`). */
function resolve(document: OpenApiDocument, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown> | undefined)?.[part],
      document,
    );
}

const operations = (item: PathItem): Array<[Method, Operation]> =>
  METHODS.flatMap((m) => (item[m] ? [[m, item[m]] as [Method, Operation]] : []));

/** `GET /openapi.json`: the API as documented matches the API as served. */
describe('GET /openapi.json', () => {
  let h: OperatorHarness;
  let document: OpenApiDocument;

  beforeAll(async () => {
    h = await startOperatorHarness('opopenapi', {
      CUSTOM_RULE_CLAIMS: 'device_id,tenant',
      BULK_CONFIRM_THRESHOLD: '25',
    });
    const response = await fetch(`${h.writer.url}/openapi.json`);
    if (response.status !== 200) {
      throw new Error(`fixture: /openapi.json answered ${response.status}`);
    }
    document = JSON.parse(await response.text()) as OpenApiDocument;
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('is an OpenAPI 3.1 document served without authentication, as JSON', async () => {
    const response = await fetch(`${h.writer.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
  });

  it('describes the operator API, audit, ingest, SSF, OAuth, snapshot, metrics and health', () => {
    expect(
      Object.fromEntries(
        Object.entries(document.paths).map(([path, item]) => [
          path,
          operations(item).map(([m]) => m),
        ]),
      ),
    ).toEqual({
      '/v1/revocations': ['get', 'post'],
      '/v1/revocations/{id}': ['get'],
      '/v1/revocations/{id}/reinstate': ['post'],
      '/v1/audit': ['get'],
      '/v1/events/hr': ['post'],
      '/v1/events/idp': ['post'],
      '/v1/events/siem': ['post'],
      '/health/live': ['get'],
      '/health/ready': ['get'],
      '/health': ['get'],
      '/v1/deny-list/snapshot': ['get'],
      '/oauth/revoke': ['post'],
      '/oauth/introspect': ['post'],
      '/global-token-revocation': ['post'],
      '/ssf/events': ['post'],
      '/metrics': ['get'],
      '/openapi.json': ['get'],
    });
  });

  it('resolves every $ref, and every error answer is a problem+json document', () => {
    const all = refs(document);
    expect(all.length).toBeGreaterThan(20);
    for (const ref of new Set(all)) {
      expect([ref, resolve(document, ref)]).toEqual([ref, expect.any(Object)]);
    }
    for (const [name, response] of Object.entries(document.components.responses)) {
      expect([name, Object.keys(response.content)]).toEqual([name, ['application/problem+json']]);
    }
    expect(document.components.schemas.Problem?.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'retriable']),
    );
    const operationIds = Object.values(document.paths).flatMap((item) =>
      operations(item).map(([, operation]) => operation.operationId),
    );
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it("documents this deployment's claims and bulk threshold", () => {
    const request = document.components.schemas.CreateRevocationRequest!;
    expect(request.required).toEqual(['rules', 'reason']);
    expect(request.properties?.rules?.items?.properties?.claim?.enum).toEqual([
      'jti',
      'sub',
      'client_id',
      'sid',
      'iss',
      'kid',
      'token_hash',
      'device_id',
      'tenant',
    ]);
    expect(document.paths['/v1/revocations']?.post?.description).toContain('more than 25 rules');
    const limit = document.paths['/v1/revocations']?.get?.parameters?.find(
      (p) => p.name === 'limit',
    );
    expect(limit).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    });
  });

  it('serves every documented operation (none answers 404 for lack of a route)', async () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method] of operations(item)) {
        const url = path.replace('{id}', '00000000-0000-4000-8000-000000000000');
        const response = await fetch(`${h.writer.url}${url}`, { method: method.toUpperCase() });
        // Unauthenticated and empty: refused (400/401), or served (200/503), but never "no such
        // route" (404) or "no such method" (405).
        expect([method, path, [200, 400, 401, 503].includes(response.status)]).toEqual([
          method,
          path,
          true,
        ]);
      }
    }
  });

  it('names exactly the members the API answers with (Rule, RulePage, CreatedRevocation, AuditEntry)', async () => {
    const created = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens.operator,
      body: { rules: [{ claim: 'sub', value: 'doc-alice' }], reason: 'documented' },
    });
    const page = await call<RulePage>(h.writer, 'GET', '/v1/revocations', {
      token: h.tokens.reader,
    });
    const audit = await call<AuditPage>(h.writer, 'GET', '/v1/audit', { token: h.tokens.reader });
    const schemas = document.components.schemas;
    const members = (name: string) => Object.keys(schemas[name]?.properties ?? {}).sort();
    for (const [name, body] of [
      ['CreatedRevocation', created.body],
      ['Rule', created.body.rules[0]],
      ['RulePage', page.body],
      ['Rule', page.body.items[0]],
      ['AuditPage', audit.body],
      ['AuditEntry', audit.body.items[0]],
    ] as const) {
      expect([name, Object.keys(body as object).sort()]).toEqual([name, members(name)]);
    }
    // Every member is always present (null rather than absent), and the document says so.
    expect([...(schemas.Rule?.required ?? [])].sort()).toEqual(members('Rule'));
    expect(members('Rule')).toHaveLength(15);
  });
});
