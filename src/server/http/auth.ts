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
import type { Caller, Store, Writer } from '../store';
import { bearerToken, hashToken, isWellFormedToken } from '../tokens';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /**
     * The bearer token of a route that checks it itself (resolve, or a write let through by
     * `Auth.recentlyValid`), from admission until it has been checked.
     */
    uncheckedToken: string | null;
  }
  interface FastifyInstance {
    auth: Auth;
  }
}

/**
 * How a route's token is checked: by the route's `auth` in the table, `admit` for a route that
 * checks the token itself in the statement that reads (resolve), `write` for a write whose
 * statement checks the token where the store can (Store.checksTokensInWrites), or `open` for a
 * route without a token that is still rate-limited by address (sign-in).
 */
export type TokenCheck = RouteAuth | 'admit' | 'write' | 'open';

/**
 * How long a token that was found valid lets this process read the body of a write without
 * looking the token up first. The write's statement checks the token again, so this decides only
 * whether a body is read: a token never valid is refused before its body, as on every route, and
 * so is one this process revoked. Only a token revoked by another server process on the same
 * database may still have a body read (and then gets 401, writing nothing).
 */
const RECENTLY_VALID_MS = 60_000;
/** Bounds that memory when callers present many distinct tokens. */
const MAX_RECENTLY_VALID = 10_000;

export class Auth {
  private readonly limiter: RateLimiter;
  /**
   * Hashes of tokens found valid, with the time (ms) until which they count as recently so; all
   * forgotten when this process revokes a token (at `revocations`).
   */
  private readonly recentlyValid = new Map<string, number>();
  private revocations = 0;

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
    await this.check(request, reply, this.admit(request, reply));
  };

  /** Looks an admitted token up and sets the request's caller; refuses it otherwise. */
  private async check(request: FastifyRequest, reply: FastifyReply, token: string): Promise<void> {
    const caller = isWellFormedToken(token)
      ? await this.store.authenticate(token, clientOf(request), request.ip)
      : undefined;
    if (!caller) {
      this.recentlyValid.delete(hashToken(token));
      throw this.refuseToken(request, reply);
    }
    request.caller = caller;
    request.uncheckedToken = null;
    if (this.store.checksTokensInWrites) {
      if (this.recentlyValid.size >= MAX_RECENTLY_VALID) this.recentlyValid.clear();
      this.recentlyValid.set(hashToken(token), Date.now() + RECENTLY_VALID_MS);
    }
  }

  /**
   * A write's hook: a token found valid within RECENTLY_VALID_MS goes on to the handler unchecked,
   * for the write's statement to check (one round trip instead of two); any other is looked up
   * before the body is read.
   */
  private readonly admitWriter = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    const token = this.admit(request, reply);
    if (this.store.revocations !== this.revocations) {
      this.recentlyValid.clear();
      this.revocations = this.store.revocations;
    }
    if (
      this.store.checksTokensInWrites &&
      isWellFormedToken(token) &&
      (this.recentlyValid.get(hashToken(token)) ?? 0) > Date.now()
    ) {
      request.uncheckedToken = token;
      return;
    }
    await this.check(request, reply, token);
  };

  /**
   * A request refused before its token was checked (a bad body, query or If-Match on a route
   * that checks the token itself): the token is checked first, so a bad token gets its 401
   * before anything else is said about the request, as on every other route.
   */
  async checkFirst(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.uncheckedToken !== null) await this.authenticate(request, reply);
  }

  /** Who a write runs as: the caller, or the unchecked token for the write's statement to check. */
  writerOf(request: FastifyRequest): Writer {
    if (request.caller) return request.caller;
    return {
      tokenHash: hashToken(request.uncheckedToken!),
      client: clientOf(request),
      ip: request.ip,
    };
  }

  /** Records what a write's statement found of its token, and answers a refusal. */
  writeChecked(request: FastifyRequest, reply: FastifyReply, caller: Caller | undefined): void {
    const token = request.uncheckedToken;
    request.uncheckedToken = null;
    if (caller) {
      request.caller = caller;
      return;
    }
    if (token !== null) this.recentlyValid.delete(hashToken(token));
    throw this.refuseToken(request, reply);
  }

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
      case 'write':
        return [this.admitWriter];
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
