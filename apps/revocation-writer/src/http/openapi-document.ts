import { z } from 'zod';
import { AUDIT_OPENAPI } from '../audit/openapi';
import { HEALTH_OPENAPI } from '../health/openapi';
import { INGEST_OPENAPI } from '../ingest/openapi';
import { METRICS_OPENAPI } from '../metrics/openapi';
import { OAUTH_OPENAPI } from '../oauth/openapi';
import { REVOCATIONS_OPENAPI } from '../revocations/openapi';
import { SNAPSHOT_OPENAPI } from '../snapshot/openapi';
import { SSF_OPENAPI } from '../ssf/openapi';
import { OPENAPI_OPENAPI } from './openapi';
import {
  COMMON_OPENAPI,
  type JsonObject,
  type OpenApiFragment,
  type OpenApiOptions,
} from './openapi-common';
import { withSharedResponses } from './openapi-shared-responses';

export type { OpenApiOptions } from './openapi-common';

/**
 * Every capability's part of the document, in document order: paths, tags and component
 * schemas appear in this order. The common components come last.
 */
export const OPENAPI_FRAGMENTS: readonly OpenApiFragment[] = [
  REVOCATIONS_OPENAPI,
  AUDIT_OPENAPI,
  INGEST_OPENAPI,
  HEALTH_OPENAPI,
  SNAPSHOT_OPENAPI,
  OAUTH_OPENAPI,
  SSF_OPENAPI,
  METRICS_OPENAPI,
  OPENAPI_OPENAPI,
  COMMON_OPENAPI,
];

/**
 * One map from the fragments' maps, in fragment order. Two fragments naming the same path or
 * component would silently replace one another's; refuse instead.
 */
function mergeUnique<T>(
  what: string,
  parts: ReadonlyArray<
    readonly [fragment: string, entries: Readonly<Record<string, T>> | undefined]
  >,
): Record<string, T> {
  const merged: Record<string, T> = {};
  const owners = new Map<string, string>();
  for (const [fragment, entries] of parts) {
    for (const [name, value] of Object.entries(entries ?? {})) {
      const owner = owners.get(name);
      if (owner !== undefined) {
        throw new Error(`OpenAPI: ${what} "${name}" is declared by "${owner}" and "${fragment}"`);
      }
      owners.set(name, fragment);
      merged[name] = value;
    }
  }
  return merged;
}

/**
 * JSON Schemas (2020-12, the dialect of OpenAPI 3.1) of the fragments' zod schemas. One registry
 * for all fragments, so that a schema used inside another fragment's (a Rule in an AuditEntry)
 * is a `$ref`, not a copy.
 */
function componentSchemas(
  fragments: readonly OpenApiFragment[],
  io: 'input' | 'output',
  options: OpenApiOptions,
): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const fragment of fragments) {
    const schemas = io === 'input' ? fragment.requestSchemas : fragment.responseSchemas;
    for (const [id, schema] of Object.entries(schemas ?? {})) {
      if (registry.has(schema)) {
        throw new Error(`OpenAPI: "${fragment.name}" publishes one zod schema under two names`);
      }
      registry.add(schema, { id });
    }
  }
  const { schemas: generated } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
    ...(io === 'input'
      ? {
          override: (ctx: { zodSchema: unknown; jsonSchema: JsonObject }) => {
            for (const fragment of fragments) {
              fragment.adjustRequestSchema?.(ctx, options);
            }
          },
        }
      : {}),
  });
  // `$schema` and `$id` belong to standalone documents; inside components the dialect is the
  // document's `jsonSchemaDialect`, and a fragment-only `$id` is not allowed by 2020-12.
  return Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
  );
}

/** Operation ids name client methods: two operations with one id would collide there. */
function refuseDuplicateOperationIds(paths: Record<string, JsonObject>): void {
  const seen = new Map<string, string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, JsonObject>)) {
      const id = String(operation.operationId);
      const other = seen.get(id);
      if (other !== undefined) {
        throw new Error(`OpenAPI: operationId "${id}" is used by ${other} and ${method} ${path}`);
      }
      seen.set(id, `${method} ${path}`);
    }
  }
}

/** The document from `fragments`, merged in their order. */
export function mergeOpenApiFragments(
  fragments: readonly OpenApiFragment[],
  options: OpenApiOptions,
): JsonObject {
  const each = <T>(part: (fragment: OpenApiFragment) => T) =>
    fragments.map((fragment) => [fragment.name, part(fragment)] as const);
  const paths = mergeUnique(
    'path',
    each((f) => f.paths?.(options)),
  );
  refuseDuplicateOperationIds(paths);
  const tags = mergeUnique(
    'tag',
    each((f) => Object.fromEntries((f.tags ?? []).map((tag) => [String(tag.name), tag]))),
  );
  // Request and response schemas share `components.schemas`: a name is taken by one of them.
  mergeUnique('schema', [...each((f) => f.requestSchemas), ...each((f) => f.responseSchemas)]);
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Rescind revocation writer',
      version: '1.0.0',
      description:
        'Token-revocation rules: ingest, operator API and audit log. Every change gets a global ' +
        '`seq` and reaches enforcement points through Kafka. Errors are RFC 9457 problem details.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: [{ bearerAuth: [] }],
    tags: Object.values(tags),
    paths: withSharedResponses(paths),
    components: {
      securitySchemes: mergeUnique(
        'security scheme',
        each((f) => f.components?.securitySchemes),
      ),
      schemas: {
        ...componentSchemas(fragments, 'input', options),
        ...componentSchemas(fragments, 'output', options),
      },
      responses: mergeUnique(
        'response',
        each((f) => f.components?.responses),
      ),
      headers: mergeUnique(
        'header',
        each((f) => f.components?.headers),
      ),
    },
  };
}

/**
 * The writer's HTTP API as an OpenAPI 3.1 document. Request and response schemas are generated
 * from the zod schemas that validate and shape them, so the document cannot drift from the code;
 * each capability documents its paths beside its controllers (`<capability>/openapi.ts`). Claims,
 * broad claims and the bulk threshold are this deployment's.
 */
export function buildOpenApiDocument(options: OpenApiOptions): JsonObject {
  return mergeOpenApiFragments(OPENAPI_FRAGMENTS, options);
}
