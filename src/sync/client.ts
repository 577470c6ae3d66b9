/**
 * The one client of the team server's API (v1), shared by the extension and the CLI. Every answer
 * is validated with the schemas of src/core/api.ts, the same ones the server uses; an answer that
 * does not match is a MalformedResponse with a message, never a crash or a silent drop.
 */
import * as z from '../core/zod';
import {
  ApiErrorBody,
  versionTag,
  type AccessList,
  type AuthorizeQuery,
  type DeviceStart,
  type PushedSignIn,
  type SignInConfig,
  type TokenRequestBody,
  type TokenSet,
  type AuditPage,
  type AuditQuery,
  type ChangesPage,
  type CreatedToken,
  type CreateGroupBody,
  type CreateSecretBody,
  type CreateTokenBody,
  type CreateUserBody,
  type Grant,
  type Health,
  type ListSecretsQuery,
  type Me,
  type MemberList,
  type Principal,
  type Project,
  type ResolvedSecret,
  type SecretMetadata,
  type SecretValue,
  type Team,
  type UpdateSecretBody,
  type User,
  type ValueList,
  type VersionEntry,
} from '../core/api';
import {
  ROUTES,
  routePath,
  type PathParams,
  type RouteAnswer,
  type RouteBody,
  type RouteSchema,
  type RouteSpec,
} from '../core/routes';
import { MalformedResponse, SecretsError } from '../core/errors';
import { displayText } from '../core/displayText';
import { normalizeServerUrl } from '../core/serverUrl';
import { ApiError, classifyFetchError, statusToCode } from './errors';

export interface ApiClientOptions {
  /** Base URL of the server, e.g. `https://secrets.example.com` (a path prefix is kept). */
  baseUrl: string;
  token?: string;
  fetch?: typeof globalThis.fetch;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Sent as User-Agent so the audit log names the client. */
  userAgent?: string;
  /** How this client trusts a private CA, said when the server's certificate is not trusted. */
  caHint?: string;
  /**
   * Called once when the server refuses the token (401): a new access token (from a refresh
   * token) to retry with, or undefined to give up.
   */
  refresh?: () => Promise<string | undefined>;
}

/** Counters for benchmarks and diagnostics: requests made and response bytes received. */
export interface TransferStats {
  requests: number;
  bytesReceived: number;
}

/** A call of one route of the table: its path parameters, query, body and If-Match. */
type CallOptions<R extends RouteSpec> = {
  query?: Record<string, string | number | undefined>;
  body?: RouteBody<R>;
  ifMatch?: number | undefined;
} & ([keyof PathParams<R>] extends [never] ? { params?: undefined } : { params: PathParams<R> });

export class ApiClient {
  readonly baseUrl: string;
  readonly stats: TransferStats = { requests: 0, bytesReceived: 0 };
  private readonly origin: string;
  private token: string | undefined;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly caHint: string | undefined;
  private readonly refresh: (() => Promise<string | undefined>) | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = normalizeServerUrl(options.baseUrl);
    this.origin = new URL(this.baseUrl).origin;
    this.token = options.token;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'notebook-secrets-sync';
    this.caHint = options.caHint;
    this.refresh = options.refresh;
  }

  setToken(token: string | undefined): void {
    this.token = token;
  }

  // -- health and identity ------------------------------------------------------------------

  health(): Promise<Health> {
    return this.call(ROUTES.health, {});
  }

  me(): Promise<Me> {
    return this.call(ROUTES.me, {});
  }

  /** Revokes the token this client signs in with (sign out); it stops working at once. */
  async revokeOwnToken(): Promise<void> {
    await this.call(ROUTES.revokeOwnToken, {});
  }

  // -- secrets --------------------------------------------------------------------------------

  async listSecrets(query: ListSecretsQuery = {}): Promise<SecretMetadata[]> {
    return (await this.call(ROUTES.listSecrets, { query: { ...query } })).secrets;
  }

  getSecret(id: string): Promise<SecretMetadata> {
    return this.call(ROUTES.getSecret, { params: { id } });
  }

  getValue(id: string): Promise<SecretValue> {
    return this.call(ROUTES.getValue, { params: { id } });
  }

  /**
   * The current values of up to 500 secrets in one request (`POST /v1/values`); ids the caller
   * cannot see, or that no longer exist, come back in `missing`. An older server without the
   * route answers 404 (ApiError with status 404).
   */
  async getValues(ids: string[]): Promise<ValueList> {
    const answer = await this.call(ROUTES.getValues, { body: { ids } });
    // Each id asked for comes back exactly once, as a value or as missing; nothing else does.
    const asked = new Set(ids);
    const seen = new Set<string>();
    for (const id of [...answer.values.map((v) => v.id), ...answer.missing]) {
      if (!asked.has(id) || seen.has(id)) {
        throw new MalformedResponse(
          `The server at ${this.origin} sent a malformed answer to POST /v1/values: ` +
            `${asked.has(id) ? 'an id twice' : 'an id that was not asked for'}. ` +
            'The server may be a different version; nothing was changed locally.',
        );
      }
      seen.add(id);
    }
    if (seen.size !== asked.size) {
      throw new MalformedResponse(
        `The server at ${this.origin} sent a malformed answer to POST /v1/values: ` +
          `${asked.size - seen.size} of the ${asked.size} ids are neither in values nor in missing. ` +
          'The server may be a different version; nothing was changed locally.',
      );
    }
    return answer;
  }

  createSecret(body: CreateSecretBody): Promise<SecretMetadata> {
    return this.call(ROUTES.createSecret, { body });
  }

  updateSecret(id: string, ifMatch: number, body: UpdateSecretBody): Promise<SecretMetadata> {
    return this.call(ROUTES.updateSecret, { params: { id }, body, ifMatch });
  }

  async deleteSecret(id: string, ifMatch?: number): Promise<void> {
    await this.call(ROUTES.deleteSecret, { params: { id }, ifMatch });
  }

  getAccess(id: string): Promise<AccessList> {
    return this.call(ROUTES.getAccess, { params: { id } });
  }

  putAccess(id: string, access: Grant[], ifMatch?: number): Promise<AccessList> {
    return this.call(ROUTES.putAccess, { params: { id }, body: { access }, ifMatch });
  }

  async versions(id: string): Promise<VersionEntry[]> {
    return (await this.call(ROUTES.versions, { params: { id } })).versions;
  }

  restore(id: string, version: number, ifMatch?: number): Promise<SecretMetadata> {
    return this.call(ROUTES.restore, { params: { id, n: String(version) }, ifMatch });
  }

  resolve(
    name: string,
    options: { project?: string; scope?: string } = {},
  ): Promise<ResolvedSecret> {
    return this.call(ROUTES.resolve, { params: { name }, query: options });
  }

  /** A page of the change feed; `parts` asks for a full listing read in ranges at once. */
  changes(since?: string, limit?: number, parts?: number): Promise<ChangesPage> {
    return this.call(ROUTES.changes, { query: { since, limit, parts } });
  }

  audit(query: AuditQuery = {}): Promise<AuditPage> {
    return this.call(ROUTES.audit, { query: { ...query } });
  }

  // -- sign-in with the identity provider ---------------------------------------------------

  signInConfig(): Promise<SignInConfig> {
    return this.call(ROUTES.signInConfig, {});
  }

  /** The URL that starts a browser sign-in, coming back to `redirectUri` with a code. */
  authorizeUrl(query: AuthorizeQuery): string {
    return `${this.baseUrl}${ROUTES.authorize.path}?${new URLSearchParams(query).toString()}`;
  }

  /** Pushes a browser sign-in ahead; the browser then opens `signInRequestUrl(id)`. */
  pushSignIn(query: AuthorizeQuery): Promise<PushedSignIn> {
    return this.call(ROUTES.pushSignIn, { body: query });
  }

  /** The URL a browser opens to go on with a pushed sign-in. */
  signInRequestUrl(id: string): string {
    return `${this.baseUrl}${routePath(ROUTES.openSignIn, { id })}`;
  }

  startDeviceSignIn(): Promise<DeviceStart> {
    return this.call(ROUTES.deviceSignIn, {});
  }

  /** Redeems a sign-in (code or device) or a refresh token for the server's tokens. */
  redeem(body: TokenRequestBody): Promise<TokenSet> {
    return this.call(ROUTES.token, { body });
  }

  // -- administration (admin token) -----------------------------------------------------------

  createUser(body: CreateUserBody): Promise<User> {
    return this.call(ROUTES.createUser, { body });
  }

  createTeam(body: CreateGroupBody): Promise<Team> {
    return this.call(ROUTES.createTeam, { body });
  }

  createProject(body: CreateGroupBody): Promise<Project> {
    return this.call(ROUTES.createProject, { body });
  }

  addTeamMember(team: string, user: string): Promise<MemberList> {
    return this.call(ROUTES.addTeamMember, { params: { id: team }, body: { user } });
  }

  addProjectMember(project: string, principal: Principal): Promise<MemberList> {
    return this.call(ROUTES.addProjectMember, { params: { id: project }, body: { principal } });
  }

  createToken(body: CreateTokenBody): Promise<CreatedToken> {
    return this.call(ROUTES.createToken, { body });
  }

  async revokeToken(id: string): Promise<void> {
    await this.call(ROUTES.revokeToken, { params: { id } });
  }

  // -- transport ------------------------------------------------------------------------------

  /**
   * Calls one route of the table (src/core/routes.ts) and parses its answer with its schema. A
   * refused token is refreshed once, when this client can.
   */
  private async call<R extends RouteSpec>(
    route: R,
    options: CallOptions<R>,
  ): Promise<RouteAnswer<R>> {
    try {
      return await this.callOnce(route, options);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || route.auth === 'none')
        throw error;
      const token = this.refresh ? await this.refresh() : undefined;
      if (token === undefined) throw error;
      this.token = token;
      return this.callOnce(route, options);
    }
  }

  private async callOnce<R extends RouteSpec>(
    route: R,
    options: CallOptions<R>,
  ): Promise<RouteAnswer<R>> {
    const method = route.method;
    const url = new URL(this.baseUrl + routePath(route, (options.params ?? {}) as PathParams<R>));
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
    };
    if (route.auth !== 'none') {
      if (!this.token) {
        throw new ApiError(
          'unauthorized',
          'Not signed in to a team server: sign in first.',
          401,
          undefined,
        );
      }
      headers.authorization = `Bearer ${this.token}`;
    }
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.ifMatch !== undefined) headers['if-match'] = versionTag(options.ifMatch);
    const what = `${method} ${url.pathname}`;

    let response: Response;
    let text: string;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'error',
        });
        text = await response.text();
      } catch (error) {
        // A refused redirect or a loopback name that resolved elsewhere: said as it is.
        if (error instanceof SecretsError) throw error;
        const failure = classifyFetchError(error, this.origin, this.caHint);
        // A kept-alive connection the server closed meanwhile: a read is safe to send again.
        if (failure.reason === 'reset' && (method === 'GET' || route.safe) && attempt === 0)
          continue;
        throw failure;
      }
      this.stats.requests++;
      this.stats.bytesReceived += Buffer.byteLength(text, 'utf8');
      // A short rate-limit pause is waited out here; a long one is the caller's to schedule.
      if (response.status !== 429 || attempt >= 3) break;
      const error = this.errorFrom(response, text, what);
      const wait = error.details.retryAfterSeconds ?? 1;
      if (wait > 5) break;
      await new Promise((r) => setTimeout(r, Math.max(50, wait * 1000)));
    }

    if (!response.ok) throw this.errorFrom(response, text, what);
    const schema: RouteSchema | undefined = route.answer;
    if (schema === undefined) return undefined as RouteAnswer<R>;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MalformedResponse(
        `The server at ${this.origin} answered ${what} with something that is not JSON` +
          ` (${contentType(response)}). Is this the URL of a Notebook Secrets server?`,
      );
    }
    const parsed = z.safeParse(schema, json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
      throw new MalformedResponse(
        `The server at ${this.origin} sent a malformed answer to ${what}: field ${where}: ` +
          `${issue?.message ?? 'invalid'}. The server may be a different version; nothing was changed locally.`,
      );
    }
    return parsed.data as RouteAnswer<R>;
  }

  private errorFrom(response: Response, text: string, what: string): ApiError {
    const status = response.status;
    let body: ApiErrorBody | undefined;
    try {
      const parsed = ApiErrorBody.safeParse(JSON.parse(text));
      if (parsed.success) body = parsed.data;
    } catch {
      body = undefined;
    }
    if (status === 401) {
      return new ApiError(
        'unauthorized',
        `The team server at ${this.origin} refused the token (401): it is wrong, expired or revoked. Sign in again with a valid token.`,
        status,
        body?.error.code,
      );
    }
    if (!body) {
      const hint =
        status === 404 || status === 405
          ? ' Check the URL: it should be the base URL of a Notebook Secrets server (where /v1/health answers).'
          : status >= 500
            ? ' The server or a proxy in front of it failed; try again later.'
            : '';
      return new ApiError(
        statusToCode(status),
        `The server at ${this.origin} answered ${what} with HTTP ${status} (${contentType(response)}), not an API error.${hint}`,
        status,
        undefined,
      );
    }
    const retryAfter = body.error.retry_after ?? Number(response.headers.get('retry-after') ?? NaN);
    // The server's own words, shown on terminals: no escape sequence or control character.
    return new ApiError(
      statusToCode(status),
      displayText(body.error.message, 500),
      status,
      body.error.code,
      {
        currentVersion: body.error.current_version,
        retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
        field: body.error.field,
      },
    );
  }
}

function contentType(response: Response): string {
  return (response.headers.get('content-type') ?? 'no content type').split(';')[0]!.trim();
}
