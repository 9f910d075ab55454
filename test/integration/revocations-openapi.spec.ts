import { STANDARD_RULE_CLAIMS } from '@rescind/contracts';
import type {
  CreatedRevocation,
  RulePage,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import type { AuditPage } from '../../apps/revocation-writer/src/audit/audit.dto';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { call, type OperatorHarness, startOperatorHarness } from '../support/operator';
import { type RunningWriter, startWriter } from '../support/writer';

/** The parts of an OpenAPI 3.1 document these tests read. */
interface SchemaObject {
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  enum?: unknown[];
  [keyword: string]: unknown;
}
interface Response {
  $ref?: string;
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  description?: string;
  security?: Array<Record<string, unknown>>;
  requestBody?: unknown;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: SchemaObject }>;
  responses: Record<string, Response>;
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
    responses: Record<string, Required<Pick<Response, 'content'>> & Response>;
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

/** Every operation of the document, with its path. */
const allOperations = (document: OpenApiDocument) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    operations(item).map(([method, operation]) => ({ path, method, operation })),
  );

/** A response, its `$ref` (to components.responses) resolved. */
function responseOf(
  document: OpenApiDocument,
  response: Response | undefined,
): Response | undefined {
  return response?.$ref ? (resolve(document, response.$ref) as Response) : response;
}

/** The media types a response is documented with (none for an empty body). */
const mediaTypes = (document: OpenApiDocument, response: Response | undefined): string[] =>
  Object.keys(responseOf(document, response)?.content ?? {});

/** A route as the running app registered it: `{param}` for `:param`, as OpenAPI writes it. */
interface Route {
  method: Method;
  path: string;
  /** No throttler applies (`@SkipThrottle` naming every throttler, on the handler or class). */
  unthrottled: boolean;
}

/** The throttlers of rate-limit.ts; `@SkipThrottle` stores one flag per name under this key. */
const THROTTLERS = ['ip', 'principal'];
const THROTTLER_SKIP = 'THROTTLER:SKIP';

/**
 * The HTTP routes of the running app, read from the metadata Nest registered them from (the
 * controllers' and handlers' paths and methods): what the document is compared against, so that
 * a route added without documentation, or a throttling change, cannot drift unnoticed.
 */
function registeredRoutes(app: NestFastifyApplication): Route[] {
  const routes: Route[] = [];
  const asList = (value: unknown): string[] =>
    value === undefined ? [''] : Array.isArray(value) ? (value as string[]) : [value as string];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) {
        continue;
      }
      const prefixes = asList(Reflect.getMetadata(PATH_METADATA, controller));
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        const method: unknown =
          typeof handler === 'function' ? Reflect.getMetadata(METHOD_METADATA, handler) : undefined;
        if (typeof method !== 'number') {
          continue; // not a route (a Kafka pattern handler, a helper)
        }
        const skipped = (throttler: string) =>
          Boolean(
            Reflect.getMetadata(`${THROTTLER_SKIP}${throttler}`, handler as object) ??
            Reflect.getMetadata(`${THROTTLER_SKIP}${throttler}`, controller),
          );
        for (const prefix of prefixes) {
          for (const path of asList(Reflect.getMetadata(PATH_METADATA, handler as object))) {
            const joined = `/${[prefix, path].filter((p) => p && p !== '/').join('/')}`
              .replace(/\/+/g, '/')
              .replace(/:(\w+)/g, '{$1}');
            routes.push({
              method: String(RequestMethod[method]).toLowerCase() as Method,
              path: joined,
              unthrottled: THROTTLERS.every(skipped),
            });
          }
        }
      }
    }
  }
  return routes;
}

/** A documented path is served by a route whose segments are equal or a parameter. */
const servedBy = (documented: string, route: string): boolean => {
  const [a, b] = [documented.split('/'), route.split('/')];
  return (
    a.length === b.length && a.every((segment, i) => segment === b[i] || /^\{\w+\}$/.test(b[i]!))
  );
};

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
      '/v1/events/hr/bulk': ['post'],
      '/v1/events/idp/bulk': ['post'],
      '/v1/events/siem/bulk': ['post'],
      '/health/live': ['get'],
      '/health/ready': ['get'],
      '/health': ['get'],
      '/v1/deny-list/snapshot': ['get'],
      '/oauth/revoke': ['get', 'post', 'put', 'patch', 'delete'],
      '/oauth/introspect': ['get', 'post', 'put', 'patch', 'delete'],
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
      ...STANDARD_RULE_CLAIMS,
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

  it('serves every documented operation, answering as documented (status and media type)', async () => {
    for (const { path, method, operation } of allOperations(document)) {
      const url = path.replace('{id}', '00000000-0000-4000-8000-000000000000');
      const response = await fetch(`${h.writer.url}${url}`, { method: method.toUpperCase() });
      await response.arrayBuffer();
      const status = String(response.status);
      // Unauthenticated and empty: refused or served, but never "no such route" (404), and never
      // an answer the document does not list, in a media type it does not name.
      const mediaType = response.headers.get('content-type')?.split(';')[0] ?? null;
      const documented = operation.responses[status];
      expect([method, path, status, documented !== undefined]).toEqual([
        method,
        path,
        status,
        true,
      ]);
      const types = mediaTypes(document, documented);
      expect([method, path, status, types.length === 0 || types.includes(mediaType!)]).toEqual([
        method,
        path,
        status,
        true,
      ]);
      expect(response.status).not.toBe(404);
    }
  });

  it('documents every route the running app registers, and only those', () => {
    // A route on a method the document cannot hold (ALL, OPTIONS) fails here too.
    const routes = registeredRoutes(h.writer.app);
    expect(routes.length).toBeGreaterThan(15);
    const documented = allOperations(document);
    for (const route of routes) {
      const found = documented.some(
        (op) => op.method === route.method && servedBy(op.path, route.path),
      );
      expect([route.method, route.path, found]).toEqual([route.method, route.path, true]);
    }
    for (const op of documented) {
      const found = routes.some((r) => r.method === op.method && servedBy(op.path, r.path));
      expect([op.method, op.path, found]).toEqual([op.method, op.path, true]);
    }
  });

  it('declares 429 with Retry-After on every rate-limited operation, and on no exempt one', () => {
    const routes = registeredRoutes(h.writer.app);
    const exempt = routes.filter((r) => r.unthrottled).map((r) => `${r.method} ${r.path}`);
    // The probes and the scrape are never limited (health.controller.ts, metrics.module.ts).
    expect(exempt.sort()).toEqual(
      ['get /health', 'get /health/live', 'get /health/ready', 'get /metrics'].sort(),
    );
    const declared = allOperations(document).map(({ path, method, operation }) => {
      const tooMany = responseOf(document, operation.responses['429']);
      return [
        `${method} ${path}`,
        tooMany && {
          headers: Object.keys(tooMany.headers ?? {}),
          mediaTypes: mediaTypes(document, tooMany),
        },
      ];
    });
    const expected = allOperations(document).map(({ path, method }) => {
      const route = routes.find((r) => r.method === method && servedBy(path, r.path));
      return [
        `${method} ${path}`,
        route?.unthrottled
          ? undefined
          : {
              headers: ['Retry-After'],
              // The OAuth endpoints answer every error in the RFC 6749 §5.2 shape.
              mediaTypes: [
                path.startsWith('/oauth/') ? 'application/json' : 'application/problem+json',
              ],
            },
      ];
    });
    expect(declared).toEqual(expected);
  });

  it('declares 405 with Allow: POST for the methods the OAuth endpoints refuse (RFC 7009 §2.1, RFC 7662 §2.1)', async () => {
    for (const path of ['/oauth/revoke', '/oauth/introspect']) {
      for (const method of ['get', 'put', 'patch', 'delete'] as const) {
        const notAllowed = document.paths[path]?.[method]?.responses['405'];
        expect([method, path, Object.keys(notAllowed?.headers ?? {})]).toEqual([
          method,
          path,
          ['Allow'],
        ]);
        const response = await fetch(`${h.writer.url}${path}`, { method: method.toUpperCase() });
        expect([method, path, response.status, response.headers.get('allow')]).toEqual([
          method,
          path,
          405,
          'POST',
        ]);
      }
    }
  });

  it('declares what Node and Fastify refuse before routing on every operation it can happen to', () => {
    const declared = allOperations(document).map(({ path, method, operation }) => [
      `${method} ${path}`,
      ['400', '408', '431'].map((status) => mediaTypes(document, operation.responses[status])),
      ['413', '414'].filter((status) => status in operation.responses),
    ]);
    const expected = allOperations(document).map(({ path, method, operation }) => [
      `${method} ${path}`,
      // 400, 408, 431: problem+json (beside an endpoint's own 400 shape, where it has one).
      Array<unknown>(3).fill(expect.arrayContaining(['application/problem+json'])),
      [
        // The body limit, except at /ssf/events where RFC 8935 §2.3 makes it a 400.
        ...(operation.requestBody !== undefined && !path.startsWith('/ssf/') ? ['413'] : []),
        // An overlong path parameter (Fastify's maxParamLength).
        ...(path.includes('{') ? ['414'] : []),
      ],
    ]);
    expect(declared).toEqual(expected);
  });

  it('declares 503 with Retry-After on every operation that looks up a credential in PostgreSQL', () => {
    const authenticated = allOperations(document).filter(
      ({ operation }) =>
        !('405' in operation.responses) &&
        (operation.security ?? (document.security as Array<Record<string, unknown>>)).some(
          (requirement) => Object.keys(requirement).length > 0,
        ),
    );
    expect(authenticated.length).toBeGreaterThan(10);
    const headersOf503 = authenticated.map(({ path, method, operation }) => [
      `${method} ${path}`,
      Object.keys(responseOf(document, operation.responses['503'])?.headers ?? {}),
    ]);
    expect(headersOf503).toEqual(
      authenticated.map(({ path, method }) => [`${method} ${path}`, ['Retry-After']]),
    );
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

/** The rate limiter as served: what the document says about 429 is what a client meets. */
describe('GET /openapi.json against the rate limiter', () => {
  let h: OperatorHarness;
  let limited: RunningWriter;
  let document: OpenApiDocument;

  beforeAll(async () => {
    h = await startOperatorHarness('opopenapilimit');
    // A second writer on the same schema, allowing one request per minute per operation.
    limited = await startWriter(h.schema, h.brokers, {
      ...h.topics.writerEnv,
      RATE_LIMIT_PER_IP_PER_MINUTE: '1',
    });
    document = JSON.parse(
      await (await fetch(`${h.writer.url}/openapi.json`)).text(),
    ) as OpenApiDocument;
  });

  afterAll(async () => {
    await limited?.stop();
    await h?.stop();
  });

  /** Exhausts the operation's budget and checks the answer against the document. */
  async function expectRateLimitAsDocumented(path: string, method: Method, operation: Operation) {
    const url = path.replace('{id}', '00000000-0000-4000-8000-000000000000');
    let response: globalThis.Response | undefined;
    // Sources of /v1/events/{source} share one handler, and so one budget: up to three tries.
    for (let attempt = 0; attempt < 3 && response?.status !== 429; attempt++) {
      response = await fetch(`${limited.url}${url}`, { method: method.toUpperCase() });
      await response.arrayBuffer();
    }
    const documented = operation.responses['429'];
    if (documented === undefined) {
      expect([method, path, response!.status]).not.toEqual([method, path, 429]);
      return;
    }
    expect([method, path, response!.status]).toEqual([method, path, 429]);
    expect(Number(response!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect([method, path, mediaTypes(document, documented)]).toEqual([
      method,
      path,
      [response!.headers.get('content-type')?.split(';')[0]],
    ]);
  }

  it('answers 429 with Retry-After, as documented, on every rate-limited operation, and never on an exempt one', async () => {
    for (const { path, method, operation } of allOperations(document)) {
      if (path !== '/ssf/events') {
        await expectRateLimitAsDocumented(path, method, operation);
      }
    }
  });

  // RFC 8935 §2.3 errors are 400s, which a transmitter does not retry: a rate-limited SET must
  // keep its 429 (and Retry-After), or it is lost.
  it('answers 429 with Retry-After at POST /ssf/events, so the transmitter retries', async () => {
    await expectRateLimitAsDocumented('/ssf/events', 'post', document.paths['/ssf/events']!.post!);
  });
});
