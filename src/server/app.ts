/**
 * The HTTP API (v1) on Fastify. Routes parse every body and query with the shared schemas of
 * core/api, call the Store, and answer `{error: {code, message}}` on failure. Logs carry method,
 * route, status, time and user id: never bodies, headers or values.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import * as z from 'zod';
import {
  AddProjectMemberBody,
  AddTeamMemberBody,
  AuditQuery,
  ChangesQuery,
  CreateGroupBody,
  CreateSecretBody,
  CreateTokenBody,
  CreateUserBody,
  EntityId,
  GetValuesBody,
  ListSecretsQuery,
  parseVersionTag,
  PutAccessBody,
  ResolveQuery,
  UpdateSecretBody,
  versionTag,
  type ApiErrorBody,
} from '../core/api';
import { SecretName } from '../core/model';
import { nameProblem } from '../core/validation';
import { KeyError } from './crypto';
import { HttpError } from './httpError';
import { openApiDocument } from './openapi';
import { RateLimiter, type RateLimitOptions } from './rateLimit';
import type { Caller, Store } from './store';
import { bearerToken, isWellFormedToken } from './tokens';
import { checkStrings, checkValue, parseOr400, parseScopeFilter } from './validation';

export const SERVER_VERSION = '0.1.0';

export interface AppOptions {
  store: Store;
  /** Largest value in UTF-8 bytes. */
  maxValueBytes: number;
  rateLimit: RateLimitOptions;
  /** Milliseconds a request may take before the server gives up on it. */
  requestTimeoutMs?: number;
  /** Where JSON log lines go (default: stderr); `false` for no logs. */
  logStream?: NodeJS.WritableStream | false;
  logLevel?: string;
  /** PEM certificate (chain) and key: the server speaks HTTPS only. */
  https?: { cert: Buffer; key: Buffer };
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The bearer token of a route that checks it itself (resolve), once admitted. */
    uncheckedToken: string | null;
  }
}

const NO_BODY = z.union([z.undefined(), z.null(), z.strictObject({})]);
/** The largest version a secret can have (a PostgreSQL integer). */
const MAX_VERSION = 2_147_483_647;
/** How long a refused request's unread body may keep arriving before its socket is closed. */
const LINGER_MS = 2_000;
// Built once: a zod schema compiles its parser on first use, which per request costs more than
// the parse itself.
const IdParams = z.object({ id: z.string() });
const RestoreParams = z.object({ id: z.string(), n: z.string() });
const NameParams = z.object({ name: z.string() });
const TokensQuery = z.strictObject({ user: EntityId.optional() });
const TeamMemberParams = z.object({ id: z.string(), user: z.string() });
const ProjectMemberParams = z.object({ id: z.string(), kind: z.string(), member: z.string() });

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const limiter = new RateLimiter(options.rateLimit);
  // JSON escapes can make a value up to 6x longer on the wire (\u0000); leave room for that.
  const bodyLimit = options.maxValueBytes * 6 + 64 * 1024;

  const app = Fastify({
    bodyLimit,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: options.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    logger: loggerOptions(options),
    // Fastify types an HTTPS instance apart; the routes and hooks are the same for both.
    ...((options.https && { https: { ...options.https, minVersion: 'TLSv1.2' } }) as object),
  });

  app.decorateRequest('caller', null);
  app.decorateRequest('uncheckedToken', null);

  // JSON bodies only; parse errors must not echo the body back (Node's messages quote it).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(
        null,
        JSON.parse(text, (key, value: unknown) => {
          if (key === '__proto__' || key === 'constructor') {
            throw new HttpError(400, 'invalid_input', `The body may not contain the key '${key}'.`);
          }
          return value;
        }),
      );
    } catch (error) {
      if (error instanceof HttpError) return done(error, undefined);
      done(new HttpError(400, 'malformed_json', 'The body is not valid JSON.'), undefined);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    void sendError(
      reply,
      new HttpError(
        404,
        'not_found',
        `There is no endpoint ${request.method} ${request.url.split('?')[0]}.`,
      ),
    );
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error);
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        // Fastify asks to close at once; the client, still sending, would then get a reset
        // instead of this answer. Node drains the rest instead, bounded by lingerOnUnreadBody.
        reply.removeHeader('connection');
        return sendError(
          reply,
          new HttpError(413, 'body_too_large', `The body is larger than ${bodyLimit} bytes.`),
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          reply,
          new HttpError(
            415,
            'unsupported_media_type',
            "Send bodies as 'Content-Type: application/json'.",
          ),
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(
          reply,
          new HttpError(400, 'malformed_json', 'The body is empty or its length is wrong.'),
        );
    }
    if (error instanceof KeyError) {
      request.log.error({ err: error }, 'a stored value does not decrypt');
      return sendError(
        reply,
        new HttpError(
          500,
          'internal',
          'The server cannot decrypt this value; an administrator must check its keys.',
        ),
      );
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, new HttpError(400, 'invalid_input', 'The request is malformed.'));
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(
      reply,
      new HttpError(500, 'internal', 'The server failed on this request; it has been logged.'),
    );
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Keep-alive sockets between requests would hold the close until they time out.
    app.server.closeIdleConnections();
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    reply.header('X-Content-Type-Options', 'nosniff');
  });

  // Strings the database cannot hold as sent are refused before any route sees them. Values are
  // sealed, not stored as text: NUL is fine there.
  app.addHook('preValidation', async (request, reply) => {
    try {
      checkStrings(request.params, 'path');
      checkStrings(request.query, 'query');
      checkStrings(request.body, 'body', (path) => path.length === 1 && path[0] === 'value');
    } catch (error) {
      // A bad token is refused first, as on every other route.
      if (request.uncheckedToken !== null) await authenticate(request, reply);
      throw error;
    }
  });

  app.addHook('onSend', async (request, reply) => {
    // A request that was in flight when the server began to stop is the last on its connection.
    if (closing) reply.header('Connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    lingerOnUnreadBody(request);
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        user: request.caller?.userId,
      },
      'request',
    );
  });

  /**
   * Rate-limits a request and takes its bearer token: 401 without one. The token is checked by
   * `authenticate`, or, for resolve, in the same statement as the read.
   */
  function admit(request: FastifyRequest, reply: FastifyReply): string {
    const token = bearerToken(request.headers.authorization);
    const key = token
      ? 't:' + createHash('sha256').update(token).digest('base64url')
      : 'ip:' + request.ip;
    const wait = limiter.take(key);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new HttpError(429, 'rate_limited', `Too many requests; retry in ${wait} s.`, {
        retry_after: wait,
      });
    }
    if (!token) {
      reply.header('WWW-Authenticate', 'Bearer');
      throw new HttpError(
        401,
        'unauthorized',
        "Send 'Authorization: Bearer <token>'; ask your administrator for a token.",
      );
    }
    return token;
  }

  /** The refusal of a token that is unknown, revoked or expired. */
  function refuseToken(request: FastifyRequest, reply: FastifyReply): HttpError {
    // Every guess brings its own token bucket; failures also count against the address.
    const failWait = limiter.take('fail:' + request.ip);
    if (failWait > 0) {
      reply.header('Retry-After', String(failWait));
      return new HttpError(
        429,
        'rate_limited',
        `Too many failed sign-ins; retry in ${failWait} s.`,
        {
          retry_after: failWait,
        },
      );
    }
    reply.header('WWW-Authenticate', 'Bearer error="invalid_token"');
    return new HttpError(401, 'unauthorized', 'This token is unknown, revoked or expired.');
  }

  function clientOf(request: FastifyRequest): string {
    return String(request.headers['user-agent'] ?? 'unknown').slice(0, 200);
  }

  /** Authenticates (and rate-limits) a request; every route but /v1/health uses it. */
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = admit(request, reply);
    const caller = isWellFormedToken(token)
      ? await store.authenticate(token, clientOf(request), request.ip)
      : undefined;
    if (!caller) throw refuseToken(request, reply);
    request.caller = caller;
  }

  function caller(request: FastifyRequest): Caller {
    return request.caller!;
  }

  async function requireAdmin(request: FastifyRequest): Promise<void> {
    if (!request.caller?.admin) {
      throw new HttpError(403, 'access_denied', 'This endpoint needs an admin token.');
    }
  }

  // onRequest: a request without a valid token is refused before its body is read.
  const admin = { onRequest: [authenticate, requireAdmin] };
  const user = { onRequest: authenticate };
  const admitOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    request.uncheckedToken = admit(request, reply);
  };

  function ifMatch(request: FastifyRequest, required: boolean): number | undefined {
    const header = request.headers['if-match'];
    if (header === undefined) {
      if (!required) return undefined;
      throw new HttpError(
        400,
        'precondition_required',
        'Send If-Match with the version you are changing (the ETag of your last read), e.g. If-Match: "3".',
      );
    }
    const version = parseVersionTag(String(header));
    if (version === undefined) {
      throw new HttpError(400, 'invalid_input', 'If-Match must be a version in quotes, e.g. "3".');
    }
    if (version > MAX_VERSION) {
      throw new HttpError(
        400,
        'invalid_input',
        `If-Match names a version above ${MAX_VERSION}, which no secret can have; send the ETag of your last read.`,
      );
    }
    return version;
  }

  // -- Health and identity -------------------------------------------------------------------

  app.get('/v1/health', async () => ({ ok: true, version: SERVER_VERSION }));

  app.get('/v1/openapi.json', async () => openApiDocument(SERVER_VERSION));

  app.get('/v1/me', user, async (request) => store.me(caller(request)));
  // Sign out: the caller's own token stops working (admins revoke others' with /v1/tokens/{id}).
  app.delete('/v1/me/token', user, async (request, reply) => {
    const me = caller(request);
    await store.revokeToken(me, me.tokenId);
    reply.code(204);
  });

  // -- Secrets --------------------------------------------------------------------------------

  app.post('/v1/secrets', user, async (request, reply) => {
    const body = parseOr400(CreateSecretBody, request.body, 'body');
    checkValue(body.value, body.encoding, options.maxValueBytes);
    const meta = await store.create(caller(request), body);
    reply
      .code(201)
      .header('ETag', versionTag(meta.version))
      .header('Location', `/v1/secrets/${meta.id}`);
    return meta;
  });

  app.get('/v1/secrets', user, async (request) => {
    const query = parseOr400(ListSecretsQuery, request.query, 'query');
    const secrets = await store.list(caller(request), {
      ...(query.scope !== undefined ? { scope: parseScopeFilter(query.scope) } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.q !== undefined ? { q: query.q } : {}),
    });
    return { secrets };
  });

  app.get('/v1/secrets/:id', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const meta = await store.get(caller(request), id);
    if (!meta) throw new HttpError(404, 'not_found', 'No secret with this id is available to you.');
    reply.header('ETag', versionTag(meta.version));
    return meta;
  });

  app.get('/v1/secrets/:id/value', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const value = await store.readValue(caller(request), id);
    reply.header('ETag', versionTag(value.version));
    return value;
  });

  // Many values in one request (the sync client's first pull); POST: ids do not go in a URL.
  app.post('/v1/values', user, async (request) => {
    const body = parseOr400(GetValuesBody, request.body, 'body');
    return store.readValues(caller(request), body.ids);
  });

  app.patch('/v1/secrets/:id', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const version = ifMatch(request, true)!;
    const body = parseOr400(UpdateSecretBody, request.body ?? {}, 'body');
    if (Object.values(body).every((v) => v === undefined)) {
      throw new HttpError(
        400,
        'invalid_input',
        'The body changes nothing: send name, value, encoding, description or type.',
      );
    }
    if (body.value !== undefined)
      checkValue(body.value, body.encoding ?? 'text', options.maxValueBytes);
    if (body.encoding === 'base64' && body.value === undefined) {
      throw new HttpError(
        400,
        'invalid_input',
        "Changing the encoding to 'base64' needs the new value in the same request.",
        {
          field: 'value',
        },
      );
    }
    // Keep the stored encoding; a base64 secret's new value must be base64 too (the update
    // checks the stored encoding in its own statement).
    let notBase64: HttpError | undefined;
    if (body.value !== undefined && body.encoding === undefined) {
      try {
        checkValue(body.value, 'base64', options.maxValueBytes);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        notBase64 = error;
      }
    }
    const meta = await store.update(caller(request), id, version, body, notBase64);
    reply.header('ETag', versionTag(meta.version));
    return meta;
  });

  app.delete('/v1/secrets/:id', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    await store.remove(caller(request), id, ifMatch(request, false));
    reply.code(204);
  });

  app.get('/v1/secrets/:id/access', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const access = await store.getAccess(caller(request), id);
    reply.header('ETag', versionTag(access.version));
    return access;
  });

  app.put('/v1/secrets/:id/access', user, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const version = ifMatch(request, false);
    const body = parseOr400(PutAccessBody, request.body, 'body');
    const access = await store.putAccess(caller(request), id, body.access, version);
    reply.header('ETag', versionTag(access.version));
    return access;
  });

  app.get('/v1/secrets/:id/versions', user, async (request) => {
    const { id } = IdParams.parse(request.params);
    return { versions: await store.versions(caller(request), id) };
  });

  app.post('/v1/secrets/:id/versions/:n/restore', user, async (request, reply) => {
    const { id, n } = RestoreParams.parse(request.params);
    if (!/^[1-9]\d{0,8}$/.test(n)) {
      throw new HttpError(
        400,
        'invalid_input',
        'The version to restore must be a positive integer.',
        { field: 'n' },
      );
    }
    parseOr400(NO_BODY, request.body, 'body');
    const meta = await store.restore(caller(request), id, Number(n), ifMatch(request, false));
    reply.header('ETag', versionTag(meta.version));
    return meta;
  });

  // The token is checked with the read, in one statement where the backend allows (a bad token
  // still gets its 401 before anything else is said about the request).
  app.get('/v1/resolve/:name', { onRequest: admitOnly }, async (request, reply) => {
    const token = request.uncheckedToken!;
    let options: { project?: string; scope?: { kind: string; id?: string } };
    let name: string;
    try {
      ({ name } = NameParams.parse(request.params));
      if (!SecretName.safeParse(name).success) {
        throw new HttpError(400, 'invalid_name', nameProblem(name) ?? 'Invalid name.', {
          field: 'name',
        });
      }
      const query = parseOr400(ResolveQuery, request.query, 'query');
      const scope = parseScopeFilter(query.scope);
      options = {
        ...(query.project ? { project: query.project } : {}),
        ...(scope ? { scope } : {}),
      };
    } catch (error) {
      // A bad token is refused first, as on every other route.
      await authenticate(request, reply);
      throw error;
    }
    const found = isWellFormedToken(token)
      ? await store.resolveForToken(token, clientOf(request), request.ip, name, options)
      : undefined;
    if (!found) throw refuseToken(request, reply);
    request.caller = found.caller;
    const { resolved } = found;
    if (!resolved)
      throw new HttpError(404, 'not_found', `No secret named '${name}' is available to you.`);
    reply.header('ETag', versionTag(resolved.version));
    return resolved;
  });

  app.get('/v1/changes', user, async (request) => {
    const query = parseOr400(ChangesQuery, request.query, 'query');
    return store.changes(caller(request), query.since, query.limit ?? 500);
  });

  app.get('/v1/audit', user, async (request) => {
    const query = parseOr400(AuditQuery, request.query, 'query');
    return store.auditLog(caller(request), {
      ...(query.secret !== undefined ? { secret: query.secret } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
      limit: query.limit ?? 100,
    });
  });

  // -- Administration -------------------------------------------------------------------------

  app.get('/v1/users', admin, async () => ({ users: await store.listUsers() }));
  app.post('/v1/users', admin, async (request, reply) => {
    const body = parseOr400(CreateUserBody, request.body, 'body');
    reply.code(201);
    return store.createUser(body);
  });

  for (const [table, kind] of [
    ['teams', 'team'],
    ['projects', 'project'],
  ] as const) {
    app.get(`/v1/${table}`, admin, async () => ({ [table]: await store.listGroups(table) }));
    app.post(`/v1/${table}`, admin, async (request, reply) => {
      const body = parseOr400(CreateGroupBody, request.body, 'body');
      reply.code(201);
      return store.createGroup(table, body);
    });
    app.get(`/v1/${table}/:id/members`, admin, async (request) => {
      const { id } = IdParams.parse(request.params);
      return { members: await store.members(kind, id) };
    });
    app.post(`/v1/${table}/:id/members`, admin, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const principal =
        kind === 'team'
          ? { kind: 'user' as const, id: parseOr400(AddTeamMemberBody, request.body, 'body').user }
          : parseOr400(AddProjectMemberBody, request.body, 'body').principal;
      reply.code(201);
      return { members: await store.setMember(kind, id, principal, true) };
    });
  }
  app.delete('/v1/teams/:id/members/:user', admin, async (request) => {
    const { id, user: member } = TeamMemberParams.parse(request.params);
    return { members: await store.setMember('team', id, { kind: 'user', id: member }, false) };
  });
  app.delete('/v1/projects/:id/members/:kind/:member', admin, async (request) => {
    const params = ProjectMemberParams.parse(request.params);
    if (params.kind !== 'user' && params.kind !== 'team') {
      throw new HttpError(400, 'invalid_input', "A project member is a 'user' or a 'team'.", {
        field: 'kind',
      });
    }
    return {
      members: await store.setMember(
        'project',
        params.id,
        { kind: params.kind, id: params.member },
        false,
      ),
    };
  });

  app.get('/v1/tokens', admin, async (request) => {
    const { user: who } = parseOr400(TokensQuery, request.query, 'query');
    return { tokens: await store.listTokens(who) };
  });
  app.post('/v1/tokens', admin, async (request, reply) => {
    const body = parseOr400(CreateTokenBody, request.body, 'body');
    reply.code(201);
    return store.createToken(caller(request), body);
  });
  app.delete('/v1/tokens/:id', admin, async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    await store.revokeToken(caller(request), id);
    reply.code(204);
  });

  return app;
}

function loggerOptions(options: AppOptions): FastifyServerOptions['logger'] {
  if (options.logStream === false) return false;
  return {
    level: options.logLevel ?? 'info',
    stream: options.logStream ?? process.stderr,
    // Only these fields are ever logged for errors: never messages that might echo input.
    serializers: {
      err: (err: Error & { code?: string }) => ({
        type: err.name,
        code: err.code,
        ...(err instanceof HttpError || err instanceof SyntaxError ? {} : { stack: err.stack }),
      }),
    },
  } as unknown as FastifyServerOptions['logger'];
}

/**
 * A request answered before its whole body arrived (refused unauthenticated, or too large) keeps
 * its connection, so the client can read the answer while it finishes sending: Node discards the
 * rest of the body. A client that has not finished after LINGER_MS loses the connection.
 */
function lingerOnUnreadBody(request: FastifyRequest): void {
  const raw = request.raw;
  const socket = raw.socket as Partial<Socket> | undefined;
  // (Injected requests, in tests, have no real socket.)
  if (raw.complete || typeof socket?.destroy !== 'function' || socket.destroyed) return;
  setTimeout(() => {
    if (!raw.complete) socket.destroy!();
  }, LINGER_MS).unref();
}

function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  const body: ApiErrorBody = {
    error: { code: error.code, message: error.message, ...error.extra },
  };
  if (error.extra.current_version !== undefined)
    reply.header('ETag', versionTag(error.extra.current_version));
  return reply.code(error.status).type('application/json; charset=utf-8').send(body);
}
