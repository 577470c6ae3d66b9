/**
 * The team server's HTTP API (v1) as zod schemas: every request and response body, shared by the
 * server (src/server) and the sync client (src/sync). Built on the secret model in ./model.
 *
 * Stability: other parts code against this file. Change it only by adding (new optional fields,
 * new schemas); never rename or remove.
 */
import * as z from './zod';
import { lazySchema } from './lazySchema';
import {
  CreateSecret,
  Description,
  Encoding,
  Grant,
  Principal,
  Role,
  Scope,
  SecretMetadata,
  SecretName,
  SecretType,
  SecretValue,
  UpdateSecret,
} from './model';

export const API_PREFIX = '/v1';

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Error codes the server sends in `{error: {code, message}}`, with their HTTP status:
 * 400 invalid_input / invalid_name / malformed_json / precondition_required,
 * 401 unauthorized, 403 access_denied, 404 not_found, 409 name_taken / already_exists,
 * 412 version_conflict, 413 value_too_large / body_too_large, 415 unsupported_media_type,
 * 422 last_owner, 429 rate_limited, 500 internal, 503 unavailable; sign-in (`POST /v1/auth/token`):
 * 400 authorization_pending / slow_down / invalid_grant, 401 sign_in_failed.
 */
export const API_ERROR_CODES = [
  'invalid_input',
  'invalid_name',
  'malformed_json',
  'precondition_required',
  'unauthorized',
  'access_denied',
  'not_found',
  'name_taken',
  'already_exists',
  'version_conflict',
  'value_too_large',
  'body_too_large',
  'unsupported_media_type',
  'last_owner',
  'rate_limited',
  'internal',
  'unavailable',
  'authorization_pending',
  'slow_down',
  'invalid_grant',
  'sign_in_failed',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The body of every non-2xx response. Messages never contain a secret value. */
export const ApiErrorBody = lazySchema(() =>
  z.object({
    error: z.object({
      /** One of API_ERROR_CODES; a client should treat unknown codes by HTTP status. */
      code: z.string(),
      message: z.string(),
      /** On 412 version_conflict: the secret's current version (also sent as the ETag header). */
      current_version: z.optional(z.number().check(z.int(), z.minimum(1))),
      /** On 400 invalid_input: which field was wrong, as a dotted path (e.g. `scope.id`). */
      field: z.optional(z.string()),
      /** On 429 rate_limited: seconds until a retry may succeed (also the Retry-After header). */
      retry_after: z.optional(z.number()),
    }),
  }),
);
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

// ---------------------------------------------------------------------------------------------
// Health and identity

/** `GET /v1/health` (no auth). */
export const Health = lazySchema(() => z.object({ ok: z.boolean(), version: z.string() }));
export type Health = z.infer<typeof Health>;

/**
 * Ids of users, teams and projects: short lowercase slugs chosen by the admin (`alice`, `data`,
 * `ml-platform`). They appear in scopes (`{kind: "team", id: "data"}`) and grants.
 */
export const ENTITY_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const ENTITY_ID_RULE =
  'Use 1–64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.';
export const EntityId = lazySchema(() =>
  z.string().check(z.regex(ENTITY_ID_PATTERN, ENTITY_ID_RULE)),
);

export const User = lazySchema(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    admin: z.boolean(),
    created_at: z.string(),
  }),
);
export type User = z.infer<typeof User>;

export const Team = lazySchema(() =>
  z.object({ id: z.string(), name: z.string(), created_at: z.string() }),
);
export type Team = z.infer<typeof Team>;

export const Project = lazySchema(() =>
  z.object({ id: z.string(), name: z.string(), created_at: z.string() }),
);
export type Project = z.infer<typeof Project>;

/** `GET /v1/me`: the caller, the teams they belong to, and the projects they are a member of
 * (directly or through a team). */
export const Me = lazySchema(() =>
  z.object({
    user: User,
    teams: z.array(Team),
    projects: z.array(Project),
  }),
);
export type Me = z.infer<typeof Me>;

// ---------------------------------------------------------------------------------------------
// Secrets

/** `POST /v1/secrets` body (→ 201 SecretMetadata). */
export const CreateSecretBody = CreateSecret;
export type CreateSecretBody = z.input<typeof CreateSecretBody>;

/**
 * `PATCH /v1/secrets/{id}` body (→ 200 SecretMetadata); needs `If-Match: "<version>"`. `name`
 * renames the secret in its scope, keeping its id, versions and grants (409 name_taken when the
 * scope has a secret of that name).
 */
export const UpdateSecretBody = lazySchema(() =>
  z.strictObject({ ...UpdateSecret.shape, name: z.optional(SecretName) }),
);
export type UpdateSecretBody = z.input<typeof UpdateSecretBody>;

/**
 * `GET /v1/secrets?scope=&type=&q=` query. `scope` is a kind (`personal`, `project`, `team`) or a
 * scope key (`project:ml`, `team:data`); `type` a secret type; `q` a case-insensitive substring of
 * the name or description.
 */
export const ListSecretsQuery = lazySchema(() =>
  z.strictObject({
    scope: z.optional(z.string()),
    type: z.optional(SecretType),
    q: z.optional(z.string().check(z.maxLength(256))),
  }),
);
export type ListSecretsQuery = z.infer<typeof ListSecretsQuery>;

/** `GET /v1/secrets` response: metadata only, never values, sorted by name then scope. */
export const SecretList = lazySchema(() => z.object({ secrets: z.array(SecretMetadata) }));
export type SecretList = z.infer<typeof SecretList>;

/** `GET /v1/secrets/{id}` response; the ETag header is `"<version>"`. */
export const SecretMetadataBody = SecretMetadata;

/** `GET /v1/secrets/{id}/value` response. */
export const SecretValueBody = SecretValue;
export type SecretValueBody = z.infer<typeof SecretValueBody>;

/** Most ids one `POST /v1/values` may ask for. */
export const MAX_VALUES_PER_REQUEST = 500;
const TOO_MANY_IDS = `Send at most ${MAX_VALUES_PER_REQUEST} ids per request.`;

/**
 * `POST /v1/values` body: the ids of the secrets whose current values the caller wants (1–500,
 * unique). POST because a list of ids does not belong in a URL.
 */
export const GetValuesBody = lazySchema(() =>
  z.strictObject({
    ids: z
      .array(
        z
          .string()
          .check(
            z.minLength(1, 'An id may not be empty.'),
            z.maxLength(200, 'An id is at most 200 characters.'),
          ),
      )
      .check(
        z.minLength(1, 'Send at least one id.'),
        z.maxLength(MAX_VALUES_PER_REQUEST, TOO_MANY_IDS),
        z.refine((ids) => new Set(ids).size === ids.length, 'The ids must be unique.'),
      ),
  }),
);
export type GetValuesBody = z.infer<typeof GetValuesBody>;

/** One value in a `POST /v1/values` answer: the single value read's body plus the secret's id. */
export const IdentifiedValue = lazySchema(() => z.object({ ...SecretValue.shape, id: z.string() }));
export type IdentifiedValue = z.infer<typeof IdentifiedValue>;

/**
 * `POST /v1/values` response, in the order of the request. `missing` lists the ids the caller
 * cannot see or that do not exist (they look alike, as a 404 of the single value read does). Each
 * returned value is audited `read_value`, one row per secret.
 */
export const ValueList = lazySchema(() =>
  z.object({
    values: z.array(IdentifiedValue),
    missing: z.array(z.string()),
  }),
);
export type ValueList = z.infer<typeof ValueList>;

/** `GET /v1/resolve/{name}?project=&scope=` response: the value that wins by precedence. */
export const ResolvedSecret = lazySchema(() =>
  z.object({
    ...SecretValue.shape,
    id: z.string(),
    name: SecretName,
    scope: Scope,
    type: SecretType,
  }),
);
export type ResolvedSecret = z.infer<typeof ResolvedSecret>;

/** `GET /v1/resolve/{name}` query: `project` = the active project; `scope` = a kind or scope key. */
export const ResolveQuery = lazySchema(() =>
  z.strictObject({
    project: z.optional(z.string()),
    scope: z.optional(z.string()),
  }),
);
export type ResolveQuery = z.infer<typeof ResolveQuery>;

// ---------------------------------------------------------------------------------------------
// Sharing

/**
 * `PUT /v1/secrets/{id}/access` body: the complete new list of grants (at least one owner). An id
 * must have the form of one; whether a user or team has it is not checked, so that sharing does
 * not tell an owner which ids exist (a grant to an id no one has yet applies once an admin
 * creates it).
 */
export const PutAccessBody = lazySchema(() =>
  z.strictObject({
    access: z
      .array(
        z.object({
          principal: z.object({ kind: z.enum(['user', 'team']), id: EntityId }),
          role: Role,
        }),
      )
      .check(z.maxLength(256)),
  }),
);
export type PutAccessBody = z.infer<typeof PutAccessBody>;

/** `GET`/`PUT /v1/secrets/{id}/access` response. A PUT bumps the secret's version. */
export const AccessList = lazySchema(() =>
  z.object({ access: z.array(Grant), version: z.number().check(z.int(), z.minimum(1)) }),
);
export type AccessList = z.infer<typeof AccessList>;

// ---------------------------------------------------------------------------------------------
// Versions

export const ChangeKind = lazySchema(() => z.enum(['create', 'update', 'share', 'restore']));
export type ChangeKind = z.infer<typeof ChangeKind>;

export const VersionEntry = lazySchema(() =>
  z.object({
    version: z.number().check(z.int(), z.minimum(1)),
    kind: ChangeKind,
    /** User id of the author. */
    author: z.string(),
    at: z.string(),
    /** False once the value of this version was destroyed (only the last N values are kept). */
    restorable: z.boolean(),
  }),
);
export type VersionEntry = z.infer<typeof VersionEntry>;

/** `GET /v1/secrets/{id}/versions` response, newest first. Never values. */
export const VersionList = lazySchema(() => z.object({ versions: z.array(VersionEntry) }));
export type VersionList = z.infer<typeof VersionList>;

// `POST /v1/secrets/{id}/versions/{n}/restore` → 200 SecretMetadata (If-Match honoured).

// ---------------------------------------------------------------------------------------------
// Change feed

/** Most ranges a full listing can be read in at once (`parts`). */
export const MAX_LISTING_PARTS = 16;

/**
 * `GET /v1/changes?since=<cursor>&limit=&parts=` query. No `since`: a full listing, which, with
 * `parts`, a longer listing is read on in that many ranges at once (see ChangesPage.parts).
 */
export const ChangesQuery = lazySchema(() =>
  z.strictObject({
    since: z.optional(z.string().check(z.maxLength(200))),
    limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000))),
    parts: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_LISTING_PARTS))),
  }),
);
export type ChangesQuery = z.infer<typeof ChangesQuery>;

/** A secret the caller can see that was created or changed: its current metadata. */
export const ChangeUpsert = lazySchema(() =>
  z.object({ kind: z.literal('upsert'), secret: SecretMetadata }),
);

/** A secret the caller could see that is gone for them: deleted, or access lost. */
export const ChangeTombstone = lazySchema(() =>
  z.object({
    kind: z.literal('tombstone'),
    id: z.string(),
    reason: z.enum(['deleted', 'access_lost']),
  }),
);

export const Change = lazySchema(() =>
  z.discriminatedUnion('kind', [ChangeUpsert, ChangeTombstone]),
);
export type Change = z.infer<typeof Change>;

/**
 * `GET /v1/changes` response. `next` is an opaque cursor to pass as `since` next time (always
 * set, also when `changes` is empty). `more` says another page is ready now. `reset` says the
 * client must drop its local copy and take this listing as the start of a full one (no or
 * foreign/expired `since`): keep paging with `next` until `more` is false.
 */
export const ChangesPage = lazySchema(() =>
  z.object({
    changes: z.array(Change),
    next: z.string(),
    more: z.boolean(),
    reset: z.boolean(),
    /**
     * On the first page of a full listing asked for in parts: the cursors of the other ranges,
     * read alongside `next`. Each range ends with `more: false` and the same `next`, from which
     * the feed is read once every range is through.
     */
    parts: z.optional(z.array(z.string())),
  }),
);
export type ChangesPage = z.infer<typeof ChangesPage>;

// ---------------------------------------------------------------------------------------------
// Audit

export const AuditAction = lazySchema(() =>
  z.enum([
    'create',
    'read_value',
    'resolve',
    'update',
    'share',
    'restore',
    'delete',
    'create_token',
    'revoke_token',
    'sign_in',
    'refresh',
    'sign_in_failed',
    'refresh_failed',
  ]),
);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntry = lazySchema(() =>
  z.object({
    id: z.string(),
    at: z.string(),
    /** User id of whoever acted. */
    actor: z.string(),
    action: AuditAction,
    /** The secret acted on; null for token and sign-in events. */
    secret_id: z.nullable(z.string()),
    secret_name: z.nullable(z.string()),
    /** The version the action produced or read, when there is one. */
    version: z.nullable(z.number().check(z.int())),
    /** For token and sign-in events: the user the token is for, or who signed in. */
    subject: z.nullable(z.string()),
    /**
     * The token the action was made with, or (token events) the token created or revoked, or
     * (sign-in events) the access token issued.
     */
    token_id: z.nullable(z.string()),
    /**
     * The admin who created the token the action was made with, when they created it for someone
     * else: an admin holding a token of another user acts in that user's name, and this says so.
     */
    token_created_by: z.nullable(z.string()),
    /** The client as it named itself (User-Agent), and its address. */
    client: z.string(),
    ip: z.string(),
    /**
     * Sign-in events: how the person signed in (`browser`, `device`), or why a sign-in or refresh
     * failed; null for other events. A failure before the person is known has the actor
     * `(unknown)`.
     */
    detail: z.nullable(z.string()),
  }),
);
export type AuditEntry = z.infer<typeof AuditEntry>;

/** `GET /v1/audit?secret=&before=&limit=` query; `before` pages back by entry id. */
export const AuditQuery = lazySchema(() =>
  z.strictObject({
    secret: z.optional(z.string()),
    before: z.optional(z.string()),
    limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000))),
  }),
);
export type AuditQuery = z.infer<typeof AuditQuery>;

/** `GET /v1/audit` response, newest first. `next` (when set) is the `before` of the next page. */
export const AuditPage = lazySchema(() =>
  z.object({ entries: z.array(AuditEntry), next: z.nullable(z.string()) }),
);
export type AuditPage = z.infer<typeof AuditPage>;

// ---------------------------------------------------------------------------------------------
// Administration (admin token)

/** `POST /v1/users` → 201 User. */
export const CreateUserBody = lazySchema(() =>
  z.strictObject({
    id: EntityId,
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    admin: z._default(z.boolean(), false),
  }),
);
export type CreateUserBody = z.input<typeof CreateUserBody>;

/** `POST /v1/teams` → 201 Team; `POST /v1/projects` → 201 Project. */
export const CreateGroupBody = lazySchema(() =>
  z.strictObject({
    id: EntityId,
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  }),
);
export type CreateGroupBody = z.input<typeof CreateGroupBody>;

/** `POST /v1/teams/{id}/members` → 201 MemberList. Team members are users. */
export const AddTeamMemberBody = lazySchema(() => z.strictObject({ user: EntityId }));
export type AddTeamMemberBody = z.infer<typeof AddTeamMemberBody>;

/** `POST /v1/projects/{id}/members` → 201 MemberList. Project members are users or teams. */
export const AddProjectMemberBody = lazySchema(() => z.strictObject({ principal: Principal }));
export type AddProjectMemberBody = z.infer<typeof AddProjectMemberBody>;

/** `GET`/`POST /v1/teams/{id}/members`, `…/projects/{id}/members` response. `DELETE
 * /v1/teams/{id}/members/{user}` and `/v1/projects/{id}/members/{kind}/{id}` remove one. */
export const MemberList = lazySchema(() => z.object({ members: z.array(Principal) }));
export type MemberList = z.infer<typeof MemberList>;

/** `POST /v1/tokens` → 201 CreatedToken. `expires_in_days` absent = no expiry. */
export const CreateTokenBody = lazySchema(() =>
  z.strictObject({
    user: EntityId,
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    expires_in_days: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(3650))),
  }),
);
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;

export const TokenInfo = lazySchema(() =>
  z.object({
    id: z.string(),
    user: z.string(),
    name: z.string(),
    created_at: z.string(),
    expires_at: z.nullable(z.string()),
  }),
);
export type TokenInfo = z.infer<typeof TokenInfo>;

/** The token itself is in this response only; the server keeps a hash. */
export const CreatedToken = lazySchema(() => z.extend(TokenInfo, { token: z.string() }));
export type CreatedToken = z.infer<typeof CreatedToken>;

/** `GET /v1/tokens?user=` query: only the tokens of this user. */
export const TokensQuery = lazySchema(() => z.strictObject({ user: z.optional(EntityId) }));
export type TokensQuery = z.infer<typeof TokensQuery>;

export const UserList = lazySchema(() => z.object({ users: z.array(User) }));
export const TeamList = lazySchema(() => z.object({ teams: z.array(Team) }));
export const ProjectList = lazySchema(() => z.object({ projects: z.array(Project) }));
export const TokenList = lazySchema(() => z.object({ tokens: z.array(TokenInfo) }));

// ---------------------------------------------------------------------------------------------
// Sign-in with the identity provider (OpenID Connect)

/** `GET /v1/auth/config` (no auth): how people sign in; `oidc` is null without a provider. */
export const SignInConfig = lazySchema(() =>
  z.object({
    oidc: z.nullable(
      z.object({
        /** The provider's name as people know it ("Keycloak", "Okta", …). */
        name: z.string(),
        /** Whether the device authorization grant is offered (no browser on this machine). */
        device: z.boolean(),
      }),
    ),
  }),
);
export type SignInConfig = z.infer<typeof SignInConfig>;

/**
 * `GET /v1/auth/authorize` query: starts a sign-in in the browser. The server sends the browser
 * to the provider and, once it is back, to `redirect_uri` (a loopback `http://127.0.0.1:<port>/…`,
 * the extension's `vscode://…` URI, or a URL the server allows: core/signInRedirect.ts) with
 * `code` and `state`; the code is redeemed with the verifier of `code_challenge` (PKCE, S256).
 */
export const AuthorizeQuery = lazySchema(() =>
  z.strictObject({
    redirect_uri: z.string().check(z.minLength(1), z.maxLength(2048)),
    state: z.string().check(z.minLength(8), z.maxLength(512)),
    code_challenge: z
      .string()
      .check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'A base64url SHA-256, 43 characters.')),
    code_challenge_method: z.literal('S256'),
  }),
);
export type AuthorizeQuery = z.infer<typeof AuthorizeQuery>;

/**
 * `POST /v1/auth/requests` (no auth, body `AuthorizeQuery`) → 201: a browser sign-in pushed ahead,
 * as in OAuth's pushed authorization requests. The browser then opens `GET /v1/auth/requests/{id}`
 * within `expires_in` seconds: a URL that carries no redirect URI, so nothing between the client
 * and the browser (an editor that re-encodes or forwards URLs) can change where the sign-in ends.
 */
export const PushedSignIn = lazySchema(() =>
  z.object({ id: z.string(), expires_in: z.number().check(z.int()) }),
);
export type PushedSignIn = z.infer<typeof PushedSignIn>;

/** `POST /v1/auth/device` (no auth) → 200: the code to show and where to enter it. */
export const DeviceStart = lazySchema(() =>
  z.object({
    device_code: z.string(),
    user_code: z.string(),
    verification_uri: z.string(),
    verification_uri_complete: z.optional(z.string()),
    expires_in: z.number(),
    interval: z.number(),
  }),
);
export type DeviceStart = z.infer<typeof DeviceStart>;

/**
 * `POST /v1/auth/token` body: redeem a browser sign-in's code (with the PKCE verifier), finish a
 * device sign-in, or refresh.
 */
export const TokenRequestBody = lazySchema(() =>
  z.discriminatedUnion('grant_type', [
    z.strictObject({
      grant_type: z.literal('authorization_code'),
      code: z.string().check(z.minLength(1), z.maxLength(512)),
      code_verifier: z.string().check(z.minLength(43), z.maxLength(128)),
      redirect_uri: z.string().check(z.minLength(1), z.maxLength(2048)),
    }),
    z.strictObject({
      grant_type: z.literal('urn:ietf:params:oauth:grant-type:device_code'),
      device_code: z.string().check(z.minLength(1), z.maxLength(2048)),
    }),
    z.strictObject({
      grant_type: z.literal('refresh_token'),
      refresh_token: z.string().check(z.minLength(1), z.maxLength(512)),
    }),
  ]),
);
export type TokenRequestBody = z.infer<typeof TokenRequestBody>;

/**
 * `POST /v1/auth/token` → 200: a short-lived access token for `Authorization: Bearer`, and a
 * refresh token for the next one (each refresh replaces it). `expires_in` is in seconds.
 */
export const TokenSet = lazySchema(() =>
  z.object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().check(z.int()),
    refresh_token: z.string(),
    user: z.string(),
  }),
);
export type TokenSet = z.infer<typeof TokenSet>;

// Re-exported so a client can import every API shape from one place.
export {
  Description,
  Encoding,
  Grant,
  Principal,
  Role,
  Scope,
  SecretMetadata,
  SecretName,
  SecretType,
  SecretValue,
};

/** The ETag/If-Match form of a version: `"3"`. */
export function versionTag(version: number): string {
  return `"${version}"`;
}

/** Parses an ETag/If-Match value (`"3"`, `W/"3"` or `3`) into a version, or undefined. */
export function parseVersionTag(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match) return undefined;
  const version = Number(match[1]);
  return version >= 1 ? version : undefined;
}
