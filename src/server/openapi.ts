/**
 * The OpenAPI 3.1 document served at GET /v1/openapi.json, generated from the same zod schemas
 * the server parses with (src/core/api.ts), so it cannot drift from what the server accepts.
 */
import * as z from 'zod';
import * as api from '../core/api';

interface Operation {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  summary: string;
  auth: 'none' | 'user' | 'admin';
  body?: z.ZodType;
  query?: z.ZodType;
  status?: number;
  response?: z.ZodType;
  ifMatch?: 'required' | 'optional';
}

const ops: Operation[] = [
  {
    method: 'get',
    path: '/v1/health',
    summary: 'Health and version',
    auth: 'none',
    response: api.Health,
  },
  {
    method: 'get',
    path: '/v1/me',
    summary: 'The caller, their teams and projects',
    auth: 'user',
    response: api.Me,
  },
  {
    method: 'delete',
    path: '/v1/me/token',
    summary: "Revoke the caller's own token (sign out)",
    auth: 'user',
    status: 204,
  },
  {
    method: 'post',
    path: '/v1/secrets',
    summary: 'Create a secret',
    auth: 'user',
    body: api.CreateSecretBody,
    status: 201,
    response: api.SecretMetadata,
  },
  {
    method: 'get',
    path: '/v1/secrets',
    summary: 'Metadata of visible secrets (never values)',
    auth: 'user',
    query: api.ListSecretsQuery,
    response: api.SecretList,
  },
  {
    method: 'get',
    path: '/v1/secrets/{id}',
    summary: 'Metadata',
    auth: 'user',
    response: api.SecretMetadata,
  },
  {
    method: 'patch',
    path: '/v1/secrets/{id}',
    summary: 'Change value, encoding, description or type (owners)',
    auth: 'user',
    body: api.UpdateSecretBody,
    response: api.SecretMetadata,
    ifMatch: 'required',
  },
  {
    method: 'delete',
    path: '/v1/secrets/{id}',
    summary: 'Delete: destroys every value, leaves a tombstone (owners)',
    auth: 'user',
    status: 204,
    ifMatch: 'optional',
  },
  {
    method: 'get',
    path: '/v1/secrets/{id}/value',
    summary: 'The value (audited)',
    auth: 'user',
    response: api.SecretValueBody,
  },
  {
    method: 'post',
    path: '/v1/values',
    summary:
      'Up to 500 values by id in one request (audited per value); ids the caller cannot see or that do not exist are in `missing`',
    auth: 'user',
    body: api.GetValuesBody,
    response: api.ValueList,
  },
  {
    method: 'get',
    path: '/v1/secrets/{id}/access',
    summary: 'Grants (owners)',
    auth: 'user',
    response: api.AccessList,
  },
  {
    method: 'put',
    path: '/v1/secrets/{id}/access',
    summary: 'Replace the grants; at least one owner (owners)',
    auth: 'user',
    body: api.PutAccessBody,
    response: api.AccessList,
    ifMatch: 'optional',
  },
  {
    method: 'get',
    path: '/v1/secrets/{id}/versions',
    summary: 'Version history (never values)',
    auth: 'user',
    response: api.VersionList,
  },
  {
    method: 'post',
    path: '/v1/secrets/{id}/versions/{n}/restore',
    summary: "Make version n's value the newest version (owners)",
    auth: 'user',
    response: api.SecretMetadata,
    ifMatch: 'optional',
  },
  {
    method: 'get',
    path: '/v1/resolve/{name}',
    summary: 'The value by precedence: personal > project > team (audited)',
    auth: 'user',
    query: api.ResolveQuery,
    response: api.ResolvedSecret,
  },
  {
    method: 'get',
    path: '/v1/changes',
    summary: 'Changes since a cursor: upserts and tombstones',
    auth: 'user',
    query: api.ChangesQuery,
    response: api.ChangesPage,
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'Audit log, newest first (never values)',
    auth: 'user',
    query: api.AuditQuery,
    response: api.AuditPage,
  },
  { method: 'get', path: '/v1/users', summary: 'Users', auth: 'admin', response: api.UserList },
  {
    method: 'post',
    path: '/v1/users',
    summary: 'Add a user',
    auth: 'admin',
    body: api.CreateUserBody,
    status: 201,
    response: api.User,
  },
  { method: 'get', path: '/v1/teams', summary: 'Teams', auth: 'admin', response: api.TeamList },
  {
    method: 'post',
    path: '/v1/teams',
    summary: 'Add a team',
    auth: 'admin',
    body: api.CreateGroupBody,
    status: 201,
    response: api.Team,
  },
  {
    method: 'get',
    path: '/v1/teams/{id}/members',
    summary: 'Team members',
    auth: 'admin',
    response: api.MemberList,
  },
  {
    method: 'post',
    path: '/v1/teams/{id}/members',
    summary: 'Add a user to a team',
    auth: 'admin',
    body: api.AddTeamMemberBody,
    status: 201,
    response: api.MemberList,
  },
  {
    method: 'delete',
    path: '/v1/teams/{id}/members/{user}',
    summary: 'Remove a user from a team',
    auth: 'admin',
    response: api.MemberList,
  },
  {
    method: 'get',
    path: '/v1/projects',
    summary: 'Projects',
    auth: 'admin',
    response: api.ProjectList,
  },
  {
    method: 'post',
    path: '/v1/projects',
    summary: 'Add a project',
    auth: 'admin',
    body: api.CreateGroupBody,
    status: 201,
    response: api.Project,
  },
  {
    method: 'get',
    path: '/v1/projects/{id}/members',
    summary: 'Project members',
    auth: 'admin',
    response: api.MemberList,
  },
  {
    method: 'post',
    path: '/v1/projects/{id}/members',
    summary: 'Add a user or team to a project',
    auth: 'admin',
    body: api.AddProjectMemberBody,
    status: 201,
    response: api.MemberList,
  },
  {
    method: 'delete',
    path: '/v1/projects/{id}/members/{kind}/{member}',
    summary: 'Remove a user or team from a project',
    auth: 'admin',
    response: api.MemberList,
  },
  {
    method: 'get',
    path: '/v1/tokens',
    summary: 'Tokens (never the tokens)',
    auth: 'admin',
    response: api.TokenList,
  },
  {
    method: 'post',
    path: '/v1/tokens',
    summary: 'Create a token, shown once',
    auth: 'admin',
    body: api.CreateTokenBody,
    status: 201,
    response: api.CreatedToken,
  },
  {
    method: 'delete',
    path: '/v1/tokens/{id}',
    summary: 'Revoke a token',
    auth: 'admin',
    status: 204,
  },
];

function schema(type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function queryParameters(query: z.ZodType): unknown[] {
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
  for (const op of ops) {
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
    (paths[op.path] ??= {})[op.method] = {
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
        [status]: op.response
          ? {
              description: 'OK',
              content: { 'application/json': { schema: schema(op.response, 'output') } },
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
