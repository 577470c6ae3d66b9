/**
 * Registers handlers from the route table (src/core/routes.ts): the method, path, success status
 * and token check come from the table, and a handler reads its body, query and If-Match through
 * the table's schemas, in the order it chooses (a bad If-Match is named before a bad body).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as z from 'zod';
import { parseVersionTag } from '../../core/api';
import {
  ROUTES,
  type PathParams,
  type RouteId,
  type RouteSchema,
  type RouteSpec,
  type Routes,
} from '../../core/routes';
import { HttpError } from '../httpError';
import type { SignIn } from '../oidc/signIn';
import {
  type Caller,
  JsonText,
  type Store,
  TokenRefused,
  type Writer,
  type Written,
} from '../store';
import { parseOr400 } from '../validation';
import type { TokenCheck } from './auth';

/** The largest version a secret can have (a PostgreSQL integer). */
const MAX_VERSION = 2_147_483_647;

/** What the route handlers share. */
export interface RouteContext {
  store: Store;
  /** Largest value in UTF-8 bytes. */
  maxValueBytes: number;
  /** The server's version, as /v1/health and the OpenAPI document say it. */
  version: string;
  /** Sign-in with the identity provider, when one is set up. */
  signIn?: SignIn;
}

type Parsed<S> = S extends RouteSchema ? z.output<S> : never;

/** One request to a route, with its input read through the route's schemas. */
export interface Call<R extends RouteSpec> {
  request: FastifyRequest;
  reply: FastifyReply;
  params: PathParams<R>;
  /** The caller of a route that needs a token. */
  caller: Caller;
  /** The body parsed with the route's schema (400 naming the field otherwise). */
  body(raw?: unknown): Parsed<R['body']>;
  /** The query parsed with the route's schema. */
  query(): Parsed<R['query']>;
  /** The If-Match version: 400 when it is malformed or, on a route that requires it, absent. */
  ifMatch(): R['ifMatch'] extends 'required' ? number : number | undefined;
  /**
   * Runs a store write as the caller, or, on a `write` route, as the token, which the write's own
   * statement checks (401 when it refuses it).
   */
  write<T>(run: (who: Writer) => Promise<Written<T>>): Promise<T>;
}

/** What a handler answers: the answer schema's shape, nothing for 204, else any JSON. */
type Answer<R extends RouteSpec> = R['answer'] extends RouteSchema
  ? z.input<R['answer']>
  : R['status'] extends 204
    ? void
    : unknown;

/** A handler's answer: an object, or its JSON text as the database wrote it (sent as it is). */
export type Handler<R extends RouteSpec> = (
  call: Call<R>,
  ctx: RouteContext,
) => Promise<Answer<R> | JsonText<Answer<R>>>;

/** A handler, or one with a check of its own (see TokenCheck). */
export type RouteHandler<R extends RouteSpec> =
  Handler<R> | { check: 'admit' | 'write' | 'open'; handle: Handler<R> };

/** Handlers for some routes of the table, keyed by route id. */
export type RouteHandlers = { [K in RouteId]?: RouteHandler<Routes[K]> };

/** Handlers for every route of the table: a route without one does not compile. */
export type AllRouteHandlers = { [K in RouteId]: RouteHandler<Routes[K]> };

/** A group of routes as a Fastify plugin (each group in a file of its own). */
export function routeGroup(handlers: RouteHandlers) {
  return async (app: FastifyInstance, ctx: RouteContext): Promise<void> => {
    for (const [id, handler] of Object.entries(handlers) as [RouteId, RouteHandler<RouteSpec>][]) {
      register(app, ROUTES[id], handler, ctx);
    }
  };
}

function register(
  app: FastifyInstance,
  spec: RouteSpec,
  handler: RouteHandler<RouteSpec>,
  ctx: RouteContext,
): void {
  const check: TokenCheck = typeof handler === 'function' ? spec.auth : handler.check;
  const handle = typeof handler === 'function' ? handler : handler.handle;
  app.route({
    method: spec.method,
    url: spec.path.replace(/\{(\w+)\}/g, ':$1'),
    onRequest: app.auth.hooks(check),
    handler: async (request, reply) => {
      if (spec.status !== undefined) reply.code(spec.status);
      try {
        const answer = await handle(callOf(spec, request, reply), ctx);
        if (!(answer instanceof JsonText)) return answer;
        // A string with a JSON content type goes out unchanged.
        reply.type('application/json; charset=utf-8');
        return answer.text;
      } catch (error) {
        await app.auth.checkFirst(request, reply);
        throw error;
      }
    },
  });
}

function callOf(spec: RouteSpec, request: FastifyRequest, reply: FastifyReply): Call<RouteSpec> {
  return {
    request,
    reply,
    params: request.params as PathParams<RouteSpec>,
    get caller() {
      return request.caller!;
    },
    body: (raw = request.body) => parseOr400(spec.body!, raw, 'body'),
    query: () => parseOr400(spec.query!, request.query, 'query'),
    ifMatch: () => ifMatch(request, spec.ifMatch === 'required'),
    async write<T>(run: (who: Writer) => Promise<Written<T>>): Promise<T> {
      const auth = request.server.auth;
      let written: Written<T>;
      try {
        written = await run(auth.writerOf(request));
      } catch (error) {
        // Any other error leaves the token unchecked, for the handler's wrapper to check.
        if (error instanceof TokenRefused) auth.writeChecked(request, reply, undefined);
        throw error;
      }
      auth.writeChecked(request, reply, written.caller);
      return written.result;
    },
  };
}

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
