/**
 * Who may call: the bearer token of each request, rate-limited per token (or per address without
 * one), resolved to its caller, and the admin check. A plugin that decorates the app with `auth`,
 * whose hooks the routes run before their body is read.
 */
import { createHash } from 'node:crypto';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { RouteAuth } from '../../core/routes';
import { HttpError } from '../httpError';
import { RateLimiter, type RateLimitOptions } from '../rateLimit';
import type { Caller, Store } from '../store';
import { bearerToken, isWellFormedToken } from '../tokens';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The bearer token of a route that checks it itself (resolve), once admitted. */
    uncheckedToken: string | null;
  }
  interface FastifyInstance {
    auth: Auth;
  }
}

/**
 * How a route's token is checked: by the route's `auth` in the table, `admit` for a route that
 * checks the token itself in the statement that reads (resolve), or `open` for a route without a
 * token that is still rate-limited by address (sign-in).
 */
export type TokenCheck = RouteAuth | 'admit' | 'open';

export class Auth {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly store: Store,
    rateLimit: RateLimitOptions,
  ) {
    this.limiter = new RateLimiter(rateLimit);
  }

  /**
   * Rate-limits a request and takes its bearer token: 401 without one. The token is checked by
   * `authenticate`, or, for resolve, in the same statement as the read.
   */
  admit(request: FastifyRequest, reply: FastifyReply): string {
    const token = bearerToken(request.headers.authorization);
    const key = token
      ? 't:' + createHash('sha256').update(token).digest('base64url')
      : 'ip:' + request.ip;
    const wait = this.limiter.take(key);
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
  refuseToken(request: FastifyRequest, reply: FastifyReply): HttpError {
    // Every guess brings its own token bucket; failures also count against the address.
    const failWait = this.limiter.take('fail:' + request.ip);
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

  /** Authenticates (and rate-limits) a request; every route but the open ones uses it. */
  readonly authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = this.admit(request, reply);
    const caller = isWellFormedToken(token)
      ? await this.store.authenticate(token, clientOf(request), request.ip)
      : undefined;
    if (!caller) throw this.refuseToken(request, reply);
    request.caller = caller;
  };

  private readonly requireAdmin = async (request: FastifyRequest): Promise<void> => {
    if (!request.caller?.admin) {
      throw new HttpError(403, 'access_denied', 'This endpoint needs an admin token.');
    }
  };

  private readonly limitAddress = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    const wait = this.limiter.take('ip:' + request.ip);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new HttpError(429, 'rate_limited', `Too many requests; retry in ${wait} s.`, {
        retry_after: wait,
      });
    }
  };

  private readonly admitOnly = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    request.uncheckedToken = this.admit(request, reply);
  };

  /** The onRequest hooks of a route: a request without a valid token is refused before its
   * body is read. */
  hooks(check: TokenCheck): onRequestAsyncHookHandler[] {
    switch (check) {
      case 'none':
        return [];
      case 'user':
        return [this.authenticate];
      case 'admin':
        return [this.authenticate, this.requireAdmin];
      case 'admit':
        return [this.admitOnly];
      case 'open':
        return [this.limitAddress];
    }
  }
}

/** The client as it names itself (User-Agent), for audit rows. */
export function clientOf(request: FastifyRequest): string {
  return String(request.headers['user-agent'] ?? 'unknown').slice(0, 200);
}

export interface AuthOptions {
  store: Store;
  rateLimit: RateLimitOptions;
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthOptions) => {
    app.decorateRequest('caller', null);
    app.decorateRequest('uncheckedToken', null);
    app.decorate('auth', new Auth(options.store, options.rateLimit));
  },
  { name: 'auth' },
);
