/**
 * The HTTP API (v1) on Fastify, assembled from plugins: auth (tokens, rate limits, the admin
 * check), the plumbing every route shares (JSON bodies, errors, headers, logs), and the route
 * groups, each registering its handlers from the route table (src/core/routes.ts).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { authPlugin } from './http/auth';
import { loggerOptions, plumbingPlugin } from './http/plumbing';
import { routeGroup, type AllRouteHandlers, type RouteContext } from './http/register';
import type { RateLimitOptions } from './rateLimit';
import { adminRoutes } from './routes/admin';
import { feedRoutes } from './routes/feed';
import { identityRoutes } from './routes/identity';
import { readingRoutes } from './routes/reading';
import { secretRoutes } from './routes/secrets';
import { sharingRoutes } from './routes/sharing';
import { signInRoutes } from './routes/signIn';
import type { SignIn } from './oidc/signIn';
import type { Store } from './store';

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
  /** Sign-in with the identity provider, when one is set up. */
  signIn?: SignIn;
}

const ROUTE_GROUPS = [
  identityRoutes,
  secretRoutes,
  sharingRoutes,
  readingRoutes,
  feedRoutes,
  adminRoutes,
  signInRoutes,
];

// Every route of the table has a handler: one missing does not compile.
({
  ...identityRoutes,
  ...secretRoutes,
  ...sharingRoutes,
  ...readingRoutes,
  ...feedRoutes,
  ...adminRoutes,
  ...signInRoutes,
}) satisfies AllRouteHandlers;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
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

  await app.register(authPlugin, { store: options.store, rateLimit: options.rateLimit });
  await app.register(plumbingPlugin, { bodyLimit });
  const context: RouteContext = {
    store: options.store,
    maxValueBytes: options.maxValueBytes,
    version: SERVER_VERSION,
    ...(options.signIn ? { signIn: options.signIn } : {}),
  };
  for (const group of ROUTE_GROUPS) await app.register(routeGroup(group), context);
  return app;
}
