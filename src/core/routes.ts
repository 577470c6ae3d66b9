/**
 * The team server's HTTP API (v1) as one table: each route once, with its method, path, body,
 * query and answer schemas, success status and who may call it. The server registers its
 * handlers from it (src/server/routes/), the OpenAPI document is generated from it
 * (src/server/openapi.ts), the sync client calls through it (src/sync/client.ts), and the
 * conformance suite iterates it.
 *
 * Stability: as for ./api, only add.
 */
import type * as z from './zod';
import * as api from './api';

/**
 * A zod schema, of zod/mini (./zod, what core's schemas are written in) or of classic zod: parse
 * it with `z.safeParse(schema, input)`, which takes either.
 */
export type RouteSchema = z.core.$ZodType;

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** Who may call a route: anyone, any user's token, or an admin token. */
export type RouteAuth = 'none' | 'user' | 'admin';

export interface RouteSpec {
  method: HttpMethod;
  /** With `{param}` placeholders, e.g. `/v1/secrets/{id}`. */
  path: string;
  summary: string;
  auth: RouteAuth;
  body?: RouteSchema;
  query?: RouteSchema;
  /** The success status; 200 unless said. */
  status?: 200 | 201 | 204 | 302;
  /** The answer's schema; none for 204. */
  answer?: RouteSchema;
  ifMatch?: 'required' | 'optional';
  /** A POST that only reads: safe to send again, as a GET is. */
  safe?: true;
  /** Served, but not an operation of the OpenAPI document (the document itself). */
  undocumented?: true;
}

/** The names of a path's `{param}` placeholders. */
type ParamNames<P extends string> = P extends `${string}{${infer K}}${infer Rest}`
  ? K | ParamNames<Rest>
  : never;

/** A route's path parameters, as strings. */
export type PathParams<R extends RouteSpec> = { [K in ParamNames<R['path']>]: string };

/** A route's body as a caller sends it. */
export type RouteBody<R extends RouteSpec> = R['body'] extends RouteSchema
  ? z.input<R['body']>
  : never;

/** A route's answer as parsed. */
export type RouteAnswer<R extends RouteSpec> = R['answer'] extends RouteSchema
  ? z.output<R['answer']>
  : void;

/** The path of a route with its parameters filled in, each URL-encoded. */
export function routePath<R extends RouteSpec>(route: R, params: PathParams<R>): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent((params as Record<string, string>)[name]!),
  );
}

function route<const R extends RouteSpec>(spec: R): R {
  return spec;
}

/** Every route, in the order of the OpenAPI document. */
export const ROUTES = {
  health: route({
    method: 'GET',
    path: '/v1/health',
    summary: 'Health and version',
    auth: 'none',
    answer: api.Health,
  }),
  openApi: route({
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document',
    auth: 'none',
    undocumented: true,
  }),
  me: route({
    method: 'GET',
    path: '/v1/me',
    summary: 'The caller, their teams and projects',
    auth: 'user',
    answer: api.Me,
  }),
  revokeOwnToken: route({
    method: 'DELETE',
    path: '/v1/me/token',
    summary: "Revoke the caller's own token (sign out)",
    auth: 'user',
    status: 204,
  }),
  createSecret: route({
    method: 'POST',
    path: '/v1/secrets',
    summary: 'Create a secret',
    auth: 'user',
    body: api.CreateSecretBody,
    status: 201,
    answer: api.SecretMetadata,
  }),
  listSecrets: route({
    method: 'GET',
    path: '/v1/secrets',
    summary: 'Metadata of visible secrets (never values)',
    auth: 'user',
    query: api.ListSecretsQuery,
    answer: api.SecretList,
  }),
  getSecret: route({
    method: 'GET',
    path: '/v1/secrets/{id}',
    summary: 'Metadata',
    auth: 'user',
    answer: api.SecretMetadata,
  }),
  updateSecret: route({
    method: 'PATCH',
    path: '/v1/secrets/{id}',
    summary: 'Change value, encoding, description or type (owners)',
    auth: 'user',
    body: api.UpdateSecretBody,
    answer: api.SecretMetadata,
    ifMatch: 'required',
  }),
  deleteSecret: route({
    method: 'DELETE',
    path: '/v1/secrets/{id}',
    summary: 'Delete: destroys every value, leaves a tombstone (owners)',
    auth: 'user',
    status: 204,
    ifMatch: 'optional',
  }),
  getValue: route({
    method: 'GET',
    path: '/v1/secrets/{id}/value',
    summary: 'The value (audited)',
    auth: 'user',
    answer: api.SecretValueBody,
  }),
  getValues: route({
    method: 'POST',
    path: '/v1/values',
    summary:
      'Up to 500 values by id in one request (audited per value); ids the caller cannot see or that do not exist are in `missing`',
    auth: 'user',
    body: api.GetValuesBody,
    answer: api.ValueList,
    safe: true,
  }),
  getAccess: route({
    method: 'GET',
    path: '/v1/secrets/{id}/access',
    summary: 'Grants (owners)',
    auth: 'user',
    answer: api.AccessList,
  }),
  putAccess: route({
    method: 'PUT',
    path: '/v1/secrets/{id}/access',
    summary: 'Replace the grants; at least one owner (owners)',
    auth: 'user',
    body: api.PutAccessBody,
    answer: api.AccessList,
    ifMatch: 'optional',
  }),
  versions: route({
    method: 'GET',
    path: '/v1/secrets/{id}/versions',
    summary: 'Version history (never values)',
    auth: 'user',
    answer: api.VersionList,
  }),
  restore: route({
    method: 'POST',
    path: '/v1/secrets/{id}/versions/{n}/restore',
    summary: "Make version n's value the newest version (owners)",
    auth: 'user',
    answer: api.SecretMetadata,
    ifMatch: 'optional',
  }),
  resolve: route({
    method: 'GET',
    path: '/v1/resolve/{name}',
    summary: 'The value by precedence: personal > project > team (audited)',
    auth: 'user',
    query: api.ResolveQuery,
    answer: api.ResolvedSecret,
  }),
  changes: route({
    method: 'GET',
    path: '/v1/changes',
    summary: 'Changes since a cursor: upserts and tombstones',
    auth: 'user',
    query: api.ChangesQuery,
    answer: api.ChangesPage,
  }),
  audit: route({
    method: 'GET',
    path: '/v1/audit',
    summary: 'Audit log, newest first (never values)',
    auth: 'user',
    query: api.AuditQuery,
    answer: api.AuditPage,
  }),
  listUsers: route({
    method: 'GET',
    path: '/v1/users',
    summary: 'Users',
    auth: 'admin',
    answer: api.UserList,
  }),
  createUser: route({
    method: 'POST',
    path: '/v1/users',
    summary: 'Add a user',
    auth: 'admin',
    body: api.CreateUserBody,
    status: 201,
    answer: api.User,
  }),
  listTeams: route({
    method: 'GET',
    path: '/v1/teams',
    summary: 'Teams',
    auth: 'admin',
    answer: api.TeamList,
  }),
  createTeam: route({
    method: 'POST',
    path: '/v1/teams',
    summary: 'Add a team',
    auth: 'admin',
    body: api.CreateGroupBody,
    status: 201,
    answer: api.Team,
  }),
  teamMembers: route({
    method: 'GET',
    path: '/v1/teams/{id}/members',
    summary: 'Team members',
    auth: 'admin',
    answer: api.MemberList,
  }),
  addTeamMember: route({
    method: 'POST',
    path: '/v1/teams/{id}/members',
    summary: 'Add a user to a team',
    auth: 'admin',
    body: api.AddTeamMemberBody,
    status: 201,
    answer: api.MemberList,
  }),
  removeTeamMember: route({
    method: 'DELETE',
    path: '/v1/teams/{id}/members/{user}',
    summary: 'Remove a user from a team',
    auth: 'admin',
    answer: api.MemberList,
  }),
  listProjects: route({
    method: 'GET',
    path: '/v1/projects',
    summary: 'Projects',
    auth: 'admin',
    answer: api.ProjectList,
  }),
  createProject: route({
    method: 'POST',
    path: '/v1/projects',
    summary: 'Add a project',
    auth: 'admin',
    body: api.CreateGroupBody,
    status: 201,
    answer: api.Project,
  }),
  projectMembers: route({
    method: 'GET',
    path: '/v1/projects/{id}/members',
    summary: 'Project members',
    auth: 'admin',
    answer: api.MemberList,
  }),
  addProjectMember: route({
    method: 'POST',
    path: '/v1/projects/{id}/members',
    summary: 'Add a user or team to a project',
    auth: 'admin',
    body: api.AddProjectMemberBody,
    status: 201,
    answer: api.MemberList,
  }),
  removeProjectMember: route({
    method: 'DELETE',
    path: '/v1/projects/{id}/members/{kind}/{member}',
    summary: 'Remove a user or team from a project',
    auth: 'admin',
    answer: api.MemberList,
  }),
  listTokens: route({
    method: 'GET',
    path: '/v1/tokens',
    summary: 'Tokens (never the tokens)',
    auth: 'admin',
    query: api.TokensQuery,
    answer: api.TokenList,
  }),
  createToken: route({
    method: 'POST',
    path: '/v1/tokens',
    summary: 'Create a token, shown once',
    auth: 'admin',
    body: api.CreateTokenBody,
    status: 201,
    answer: api.CreatedToken,
  }),
  revokeToken: route({
    method: 'DELETE',
    path: '/v1/tokens/{id}',
    summary: 'Revoke a token',
    auth: 'admin',
    status: 204,
  }),
  signInConfig: route({
    method: 'GET',
    path: '/v1/auth/config',
    summary: 'How people sign in: the identity provider, if any',
    auth: 'none',
    answer: api.SignInConfig,
  }),
  authorize: route({
    method: 'GET',
    path: '/v1/auth/authorize',
    summary: 'Sign in in the browser: to the identity provider and back to redirect_uri (PKCE)',
    auth: 'none',
    query: api.AuthorizeQuery,
    status: 302,
  }),
  signInCallback: route({
    method: 'GET',
    path: '/v1/auth/callback',
    summary: "The identity provider's redirect back to this server",
    auth: 'none',
    status: 302,
  }),
  deviceSignIn: route({
    method: 'POST',
    path: '/v1/auth/device',
    summary: 'Sign in without a browser here: a code to enter on another device',
    auth: 'none',
    answer: api.DeviceStart,
  }),
  token: route({
    method: 'POST',
    path: '/v1/auth/token',
    summary: 'Redeem a sign-in (code or device) or a refresh token for an access token',
    auth: 'none',
    body: api.TokenRequestBody,
    answer: api.TokenSet,
  }),
  pushSignIn: route({
    method: 'POST',
    path: '/v1/auth/requests',
    summary: 'Push a browser sign-in ahead; the browser then opens /v1/auth/requests/{id}',
    auth: 'none',
    body: api.AuthorizeQuery,
    status: 201,
    answer: api.PushedSignIn,
  }),
  openSignIn: route({
    method: 'GET',
    path: '/v1/auth/requests/{id}',
    summary: 'Sign in in the browser with a pushed request: to the identity provider (once)',
    auth: 'none',
    status: 302,
  }),
} as const;

export type Routes = typeof ROUTES;
export type RouteId = keyof Routes;
