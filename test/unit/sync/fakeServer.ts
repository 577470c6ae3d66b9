/**
 * A small in-memory stand-in for the team server, served through a `fetch` function, for unit tests
 * of the sync client and engine. It follows the API's contract (If-Match, 412 with
 * current_version, change feed with tombstones, grants) closely enough for the engine's logic;
 * the integration tests run the same scenarios against the real server.
 */
import { createHash } from 'node:crypto';
import {
  GetValuesBody,
  versionTag,
  parseVersionTag,
  type Change,
  type IdentifiedValue,
} from '../../../src/core/api';
import type { Grant, Scope, SecretMetadata } from '../../../src/core/model';
import { scopeKey } from '../../../src/core/scope';

export interface Snapshot {
  name: string;
  type: string;
  description: string;
  value: string;
}

interface Row {
  meta: SecretMetadata;
  value: string;
  encoding: 'text' | 'base64';
  deleted: boolean;
  /** Who made the newest version. */
  author: string;
}

export class FakeServer {
  readonly tokens = new Map<string, string>();
  readonly teams = new Map<string, Set<string>>();
  readonly rows = new Map<string, Row>();
  private readonly log: { seq: number; id: string }[] = [];
  private seq = 0;
  private nextId = 1;
  offline = false;
  /** False: behave as an older server without `POST /v1/values` (it answers 404). */
  batchValues = true;
  /** How many ids each `POST /v1/values` asked for, in order. */
  readonly valueBatches: number[] = [];
  /** Runs before a `POST /v1/values` is answered (races: a delete or unshare in between). */
  beforeValues: (() => void) | undefined;
  /** When set, the next answer's body is replaced by this text (malformed-answer tests). */
  corruptNext: string | undefined;
  requests: string[] = [];
  /** Sign-in with an identity provider, as `GET /v1/auth/config` says; null: tokens only. */
  provider: { name: string; device: boolean } | null = null;
  /**
   * Browser sign-ins the provider finished: the one-time code, its user and PKCE challenge, and
   * the redirect URI it went back to (the redemption must name the same, when given).
   */
  readonly signInCodes = new Map<
    string,
    { user: string; challenge: string; redirectUri?: string }
  >();
  /** Refresh tokens of sign-ins, by token: the user. */
  readonly refreshTokens = new Map<string, string>();
  /** Every version each secret had: its name, metadata and value (for "equals the server's"). */
  readonly history = new Map<string, Map<number, Snapshot>>();

  addUser(user: string, token = `tok-${user}`): string {
    this.tokens.set(token, user);
    return token;
  }

  addTeam(team: string, members: string[]): void {
    this.teams.set(team, new Set(members));
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (this.offline) {
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    this.requests.push(`${method} ${url.pathname}`);
    const response = this.handle(method, url, headers, init?.body as string | undefined);
    if (this.corruptNext !== undefined) {
      const text = this.corruptNext;
      this.corruptNext = undefined;
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    return response;
  };

  /** Browser sign-ins clients pushed ahead (`POST /v1/auth/requests`), by id. */
  readonly pushedSignIns = new Map<string, Record<string, string>>();

  /**
   * What the browser sign-in of a URL the client opened asks for (redirect_uri, state,
   * code_challenge): its pushed request's, or the URL's own query.
   */
  signInRequest(opened: string): URLSearchParams {
    const url = new URL(opened);
    const pushed = /\/v1\/auth\/requests\/([^/]+)$/.exec(url.pathname)?.[1];
    if (pushed === undefined) return url.searchParams;
    const request = this.pushedSignIns.get(decodeURIComponent(pushed));
    if (!request) throw new Error(`No sign-in was pushed as ${pushed}.`);
    return new URLSearchParams(request);
  }

  /** `POST /v1/auth/token`: a browser sign-in's code (with its PKCE verifier), or a refresh. */
  private signInToken(rawBody: string | undefined): Response {
    const body = JSON.parse(rawBody ?? '{}') as Record<string, string>;
    let user: string | undefined;
    if (body.grant_type === 'authorization_code') {
      const issued = this.signInCodes.get(body.code ?? '');
      this.signInCodes.delete(body.code ?? '');
      const challenge = createHash('sha256')
        .update(body.code_verifier ?? '')
        .digest('base64url');
      const sameRedirect = !issued?.redirectUri || issued.redirectUri === body.redirect_uri;
      if (issued?.challenge === challenge && sameRedirect) user = issued.user;
    } else if (body.grant_type === 'refresh_token') {
      user = this.refreshTokens.get(body.refresh_token ?? '');
      this.refreshTokens.delete(body.refresh_token ?? '');
    }
    if (!user) return error(400, 'invalid_grant', 'Unknown or used code or refresh token.');
    const access = this.addUser(user, `tok-${user}-${this.nextId++}`);
    const refresh = `refresh-${user}-${this.nextId++}`;
    this.refreshTokens.set(refresh, user);
    return json(200, {
      access_token: access,
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: refresh,
      user,
    });
  }

  private handle(method: string, url: URL, headers: Headers, rawBody?: string): Response {
    const path = url.pathname.replace(/^\/v1/, '');
    if (path === '/health') return json(200, { ok: true, version: 'fake' });
    if (path === '/auth/config') return json(200, { oidc: this.provider });
    if (path === '/auth/token' && method === 'POST') return this.signInToken(rawBody);
    if (path === '/auth/requests' && method === 'POST') {
      const id = `request-${this.nextId++}`;
      this.pushedSignIns.set(id, JSON.parse(rawBody ?? '{}') as Record<string, string>);
      return json(201, { id, expires_in: 600 });
    }
    const token = /^Bearer (.+)$/.exec(headers.get('authorization') ?? '')?.[1];
    const user = token ? this.tokens.get(token) : undefined;
    if (!user) return error(401, 'unauthorized', 'Bad token.');
    const body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {};
    const ifMatch = parseVersionTag(headers.get('if-match') ?? undefined);

    if (path === '/me/token' && method === 'DELETE') {
      this.tokens.delete(token!);
      return new Response(null, { status: 204 });
    }
    if (path === '/me') {
      const teams = [...this.teams].filter(([, m]) => m.has(user)).map(([id]) => group(id));
      return json(200, {
        user: { id: user, name: user, admin: false, created_at: T0 },
        teams,
        projects: [],
      });
    }
    const resolved = /^\/resolve\/([^/]+)$/.exec(path);
    if (resolved && method === 'GET')
      return this.resolve(user, decodeURIComponent(resolved[1]!), url.searchParams.get('scope'));
    if (path === '/changes')
      return this.changes(
        user,
        url.searchParams.get('since') ?? undefined,
        Number(url.searchParams.get('limit') ?? 1000),
      );
    if (path === '/secrets' && method === 'GET') {
      const q = url.searchParams.get('q') ?? '';
      const secrets = [...this.rows.values()]
        .filter((r) => !r.deleted && this.role(r, user) && r.meta.name.includes(q))
        .map((r) => this.view(r, user));
      return json(200, { secrets });
    }
    if (path === '/secrets' && method === 'POST') {
      const scope = (body.scope as Scope | undefined) ?? { kind: 'personal' };
      if (scope.kind === 'team' && !this.teams.get(scope.id)?.has(user)) {
        return error(404, 'not_found', 'No such team.');
      }
      const taken = [...this.rows.values()].some(
        (r) => !r.deleted && r.meta.name === body.name && sameScopeOwner(r, scope, user),
      );
      if (taken)
        return error(
          409,
          'name_taken',
          `A secret named '${String(body.name)}' already exists in this scope.`,
        );
      const id = `srv-${this.nextId++}`;
      const meta: SecretMetadata = {
        id,
        name: body.name as string,
        encoding: (body.encoding as 'text') ?? 'text',
        type: (body.type as 'generic') ?? 'generic',
        description: (body.description as string) ?? '',
        scope,
        version: 1,
        created_at: T0,
        updated_at: T0,
        created_by: user,
        access:
          scope.kind === 'personal'
            ? [{ principal: { kind: 'user', id: user }, role: 'owner' }]
            : [],
      };
      const row: Row = {
        meta,
        value: body.value as string,
        encoding: meta.encoding,
        deleted: false,
        author: user,
      };
      this.rows.set(id, row);
      this.bump(id);
      return json(201, this.view(row, user));
    }
    if (path === '/values' && method === 'POST' && this.batchValues) {
      const parsed = GetValuesBody.safeParse(body);
      if (!parsed.success) return error(400, 'invalid_input', 'Bad ids.');
      this.valueBatches.push(parsed.data.ids.length);
      this.beforeValues?.();
      const values: IdentifiedValue[] = [];
      const missing: string[] = [];
      for (const id of parsed.data.ids) {
        const row = this.rows.get(id);
        if (row && !row.deleted && this.role(row, user)) {
          values.push({ id, value: row.value, encoding: row.encoding, version: row.meta.version });
        } else missing.push(id);
      }
      return json(200, { values, missing });
    }
    const m = /^\/secrets\/([^/]+)(\/value|\/access|\/versions)?$/.exec(path);
    if (!m) return error(404, 'not_found', 'No such route.');
    const row = this.rows.get(decodeURIComponent(m[1]!));
    const role = row && !row.deleted ? this.role(row, user) : undefined;
    if (!row || !role) return error(404, 'not_found', 'No such secret.');
    const sub = m[2];
    if (sub === '/value')
      return json(200, { value: row.value, encoding: row.encoding, version: row.meta.version });
    if (sub === '/versions') {
      return json(200, {
        versions: [
          {
            version: row.meta.version,
            kind: 'update',
            author: row.author,
            at: row.meta.updated_at,
            restorable: true,
          },
        ],
      });
    }
    if (sub === '/access') {
      if (method === 'GET')
        return json(200, { access: row.meta.access, version: row.meta.version });
      if (role !== 'owner') return error(403, 'access_denied', 'Owners only.');
      const access = body.access as Grant[];
      if (!access.some((g) => g.role === 'owner'))
        return error(422, 'last_owner', 'A secret keeps at least one owner.');
      row.meta = { ...row.meta, access, version: row.meta.version + 1 };
      this.bump(row.meta.id);
      return json(200, { access, version: row.meta.version });
    }
    if (method === 'GET') return json(200, this.view(row, user));
    if (role !== 'owner') return error(403, 'access_denied', 'Readers cannot change this secret.');
    if (method === 'PATCH') {
      if (ifMatch === undefined)
        return error(400, 'precondition_required', 'If-Match is required.');
      if (ifMatch !== row.meta.version)
        return error(412, 'version_conflict', 'Stale.', row.meta.version);
      const renamedTo = body.name as string | undefined;
      const taken = [...this.rows.values()].some(
        (r) =>
          r !== row &&
          !r.deleted &&
          r.meta.name === renamedTo &&
          sameScopeOwner(r, row.meta.scope, row.meta.created_by),
      );
      if (taken) return error(409, 'name_taken', 'A secret of that name is in this scope.');
      row.meta = {
        ...row.meta,
        ...(renamedTo !== undefined && { name: renamedTo }),
        ...(body.type !== undefined && { type: body.type as 'generic' }),
        ...(body.description !== undefined && { description: body.description as string }),
        version: row.meta.version + 1,
        updated_at: new Date(Date.parse(T0) + this.seq * 1000).toISOString(),
      };
      if (body.value !== undefined) row.value = body.value as string;
      if (body.encoding !== undefined) row.encoding = body.encoding as 'text';
      row.author = user;
      this.bump(row.meta.id);
      return json(200, this.view(row, user));
    }
    if (method === 'DELETE') {
      if (ifMatch !== undefined && ifMatch !== row.meta.version) {
        return error(412, 'version_conflict', 'Stale.', row.meta.version);
      }
      row.deleted = true;
      this.bump(row.meta.id);
      return new Response(null, { status: 204 });
    }
    return error(405, 'invalid_input', 'Method not allowed.');
  }

  private changes(user: string, since: string | undefined, limit: number): Response {
    const from = since === undefined ? undefined : Number(since.replace('fake.', ''));
    if (from === undefined || Number.isNaN(from)) {
      const all = [...this.rows.values()].filter((r) => !r.deleted && this.role(r, user));
      return json(200, {
        changes: all.map((r) => ({ kind: 'upsert', secret: this.view(r, user) })),
        next: `fake.${this.seq}`,
        more: false,
        reset: true,
      });
    }
    const entries = this.log.filter((e) => e.seq > from).slice(0, limit);
    const changes: Change[] = entries.map(({ id }) => {
      const row = this.rows.get(id)!;
      if (!row.deleted && this.role(row, user))
        return { kind: 'upsert', secret: this.view(row, user) };
      return { kind: 'tombstone', id, reason: row.deleted ? 'deleted' : 'access_lost' };
    });
    const last = entries.at(-1)?.seq ?? from;
    return json(200, { changes, next: `fake.${last}`, more: last < this.seq, reset: false });
  }

  /**
   * `GET /v1/resolve/{name}`: the value by precedence, personal (the caller's own) > project >
   * team; `scope` narrows it to a kind or a scope key.
   */
  private resolve(user: string, name: string, scope: string | null): Response {
    const rank = (r: Row) => ['personal', 'project', 'team'].indexOf(r.meta.scope.kind);
    const found = [...this.rows.values()]
      .filter((r) => !r.deleted && r.meta.name === name && this.role(r, user))
      .filter((r) => r.meta.scope.kind !== 'personal' || r.meta.created_by === user)
      .filter(
        (r) => scope === null || scope === r.meta.scope.kind || scope === scopeKey(r.meta.scope),
      )
      .sort((a, b) => rank(a) - rank(b))[0];
    if (!found) return error(404, 'not_found', `No secret named '${name}' is available.`);
    const { id, scope: where, type, version } = found.meta;
    return json(200, {
      id,
      name,
      scope: where,
      type,
      value: found.value,
      encoding: found.encoding,
      version,
    });
  }

  role(row: Row, user: string): 'owner' | 'reader' | undefined {
    if (row.meta.scope.kind === 'team' && this.teams.get(row.meta.scope.id)?.has(user))
      return 'owner';
    let role: 'owner' | 'reader' | undefined;
    for (const g of row.meta.access) {
      const match =
        (g.principal.kind === 'user' && g.principal.id === user) ||
        (g.principal.kind === 'team' && this.teams.get(g.principal.id)?.has(user));
      if (match && (role === undefined || g.role === 'owner')) role = g.role;
    }
    return role;
  }

  private view(row: Row, user: string): SecretMetadata {
    return { ...row.meta, role: this.role(row, user) };
  }

  private bump(id: string): void {
    this.log.push({ seq: ++this.seq, id });
    const row = this.rows.get(id)!;
    if (row.deleted) return;
    const versions = this.history.get(id) ?? new Map<number, Snapshot>();
    const { name, type, description, version } = row.meta;
    versions.set(version, { name, type, description, value: row.value });
    this.history.set(id, versions);
  }

  /** Server-side edit, as another client would make it. */
  serverValue(id: string): string | undefined {
    const row = this.rows.get(id);
    return row && !row.deleted ? row.value : undefined;
  }
}

const T0 = '2026-01-01T00:00:00.000Z';

function group(id: string): { id: string; name: string; created_at: string } {
  return { id, name: id, created_at: T0 };
}

function sameScopeOwner(row: Row, scope: Scope, user: string): boolean {
  if (row.meta.scope.kind !== scope.kind) return false;
  if (scope.kind === 'personal') return row.meta.created_by === user;
  return 'id' in row.meta.scope && row.meta.scope.id === scope.id;
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...extra },
  });
}

function error(status: number, code: string, message: string, current?: number): Response {
  return json(
    status,
    { error: { code, message, ...(current !== undefined && { current_version: current }) } },
    current !== undefined ? { etag: versionTag(current) } : {},
  );
}
