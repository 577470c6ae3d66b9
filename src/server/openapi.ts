/**
 * The OpenAPI 3.1 document served at GET /v1/openapi.json, generated from the route table the
 * server registers from (src/core/routes.ts) and its zod schemas, so it cannot drift from what
 * the server accepts.
 */
import * as z from 'zod';
import * as api from '../core/api';
import { ROUTES, type RouteSpec } from '../core/routes';

function schema(type: z.core.$ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function queryParameters(query: z.core.$ZodType): unknown[] {
  const json = schema(query, 'input') as { properties?: Record<string, unknown> };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
  }));
}

let cached: unknown;

export function openApiDocument(version: string): unknown {
  if (cached) return cached;
  const errorResponse = {
    description: 'Error: {error: {code, message}}',
    content: { 'application/json': { schema: schema(api.ApiErrorBody, 'output') } },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const ops: RouteSpec[] = Object.values(ROUTES);
  for (const op of ops) {
    if (op.undocumented) continue;
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const parameters = [
      ...params,
      ...(op.query ? queryParameters(op.query) : []),
      ...(op.ifMatch
        ? [
            {
              name: 'If-Match',
              in: 'header',
              required: op.ifMatch === 'required',
              description: 'The version being changed, e.g. "3" (the ETag of the last read)',
              schema: { type: 'string' },
            },
          ]
        : []),
    ];
    const status = String(op.status ?? 200);
    (paths[op.path] ??= {})[op.method.toLowerCase()] = {
      summary: op.summary,
      ...(op.auth === 'none' ? { security: [] } : {}),
      ...(op.auth === 'admin' ? { description: 'Needs an admin token.' } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(op.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [status]: op.answer
          ? {
              description: 'OK',
              content: { 'application/json': { schema: schema(op.answer, 'output') } },
            }
          : { description: 'No content' },
        default: errorResponse,
      },
    };
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Notebook Secrets team server',
      version,
      description: 'See docs/api.md for the rules: scopes, roles, versions, the change feed.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
  return cached;
}
