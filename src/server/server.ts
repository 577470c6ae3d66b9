/**
 * Starting and stopping the team server: open the database (PGlite in a data directory, or
 * PostgreSQL from DATABASE_URL), migrate, check the encryption keys, make sure an admin token
 * exists, then listen. Stopping finishes in-flight requests before closing the database.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { MAX_VALUE_BYTES } from '../core/limits';
import { isLoopbackAddress } from '../core/serverUrl';
import { buildApp } from './app';
import { KeyError, loadKeyring } from './crypto';
import type { SqlDriver } from './db/driver';
import { openPglite } from './db/pglite';
import { openPostgres } from './db/postgres';
import { migrate, SchemaTooNew } from './db/schema';
import type { RateLimitOptions } from './rateLimit';
import { Store } from './store';
import { oidcConfigFromEnv, OidcConfigError, type OidcConfig } from './oidc/config';
import { SignIn } from './oidc/signIn';
import { isLoopbackBind, loadTls, TlsConfigError, type TlsMaterial } from './tls';

export interface ServerConfig {
  /** Data directory: the PGlite database (unless databaseUrl) and the key file live here. */
  dataDir: string;
  /** PostgreSQL connection string; when absent, PGlite in dataDir/db. */
  databaseUrl?: string;
  host: string;
  port: number;
  /** PEM files: with both, the server speaks HTTPS only (NOTEBOOK_SECRETS_TLS_CERT/_KEY). */
  tlsCert?: string;
  tlsKey?: string;
  /**
   * Plain HTTP on an address other machines can reach (behind a TLS-terminating proxy):
   * refused without this opt-in (NOTEBOOK_SECRETS_INSECURE_HTTP=1).
   */
  insecureHttp?: boolean;
  /** NOTEBOOK_SECRETS_KEY and NOTEBOOK_SECRETS_OLD_KEYS. */
  key?: string;
  oldKeys?: string;
  /** NOTEBOOK_SECRETS_ADMIN_TOKEN. */
  adminToken?: string;
  maxValueBytes: number;
  keepValues: number;
  rateLimit: RateLimitOptions;
  requestTimeoutMs: number;
  logStream?: NodeJS.WritableStream | false;
  logLevel?: string;
  /** Sign-in with an identity provider (NOTEBOOK_SECRETS_OIDC_*). */
  oidc?: OidcConfig;
}

export class StartupError extends Error {}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'notebook-secrets', 'server');
}

/**
 * Secrets in the environment may come from a file instead: NAME_FILE names it (a systemd
 * credential, `LoadCredential=` with `%d/NAME`), so the secret is in no unit file or process list.
 */
export function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (out[name] || !file) continue;
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new StartupError(`Cannot read ${name}_FILE (${file}): ${(error as Error).message}`);
    }
  }
  return out;
}

const SECRET_VARIABLES = [
  'NOTEBOOK_SECRETS_KEY',
  'NOTEBOOK_SECRETS_OLD_KEYS',
  'NOTEBOOK_SECRETS_ADMIN_TOKEN',
  'NOTEBOOK_SECRETS_OIDC_CLIENT_SECRET',
];

/** The configuration from the environment, with defaults for everything. */
export function configFromEnv(raw: NodeJS.ProcessEnv = process.env): ServerConfig {
  const env = withSecretFiles(raw);
  const number = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0)
      throw new StartupError(`${name} must be a non-negative number.`);
    return value;
  };
  return {
    dataDir: env.NOTEBOOK_SECRETS_DATA || defaultDataDir(env),
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    host: '127.0.0.1',
    port: 8787,
    ...(env.NOTEBOOK_SECRETS_TLS_CERT ? { tlsCert: env.NOTEBOOK_SECRETS_TLS_CERT } : {}),
    ...(env.NOTEBOOK_SECRETS_TLS_KEY ? { tlsKey: env.NOTEBOOK_SECRETS_TLS_KEY } : {}),
    ...(env.NOTEBOOK_SECRETS_INSECURE_HTTP === '1' || env.NOTEBOOK_SECRETS_INSECURE_HTTP === 'true'
      ? { insecureHttp: true }
      : {}),
    ...(env.NOTEBOOK_SECRETS_KEY ? { key: env.NOTEBOOK_SECRETS_KEY } : {}),
    ...(env.NOTEBOOK_SECRETS_OLD_KEYS ? { oldKeys: env.NOTEBOOK_SECRETS_OLD_KEYS } : {}),
    ...(env.NOTEBOOK_SECRETS_ADMIN_TOKEN ? { adminToken: env.NOTEBOOK_SECRETS_ADMIN_TOKEN } : {}),
    maxValueBytes: number('NOTEBOOK_SECRETS_MAX_VALUE_BYTES', MAX_VALUE_BYTES),
    keepValues: Math.max(1, number('NOTEBOOK_SECRETS_KEEP_VALUES', 10)),
    rateLimit: {
      perSecond: number('NOTEBOOK_SECRETS_RATE_LIMIT', 50),
      burst: number('NOTEBOOK_SECRETS_RATE_BURST', 200),
    },
    requestTimeoutMs: number('NOTEBOOK_SECRETS_REQUEST_TIMEOUT_MS', 30_000),
    ...(env.NOTEBOOK_SECRETS_LOG_LEVEL ? { logLevel: env.NOTEBOOK_SECRETS_LOG_LEVEL } : {}),
    ...oidcFromEnv(env),
  };
}

function oidcFromEnv(env: NodeJS.ProcessEnv): { oidc?: OidcConfig } {
  try {
    const oidc = oidcConfigFromEnv(env);
    return oidc ? { oidc } : {};
  } catch (error) {
    if (error instanceof OidcConfigError) throw new StartupError(error.message);
    throw error;
  }
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  backend: 'pglite' | 'postgres';
  /** A token created on this start (print it once), if any. */
  newAdminToken?: string;
  keySource: string;
  warnings: string[];
  /** The certificate served (subject, expiry), when the server speaks HTTPS. */
  tlsSummary?: string;
  /** Stops accepting connections, waits for in-flight requests, closes the database. */
  close(): Promise<void>;
}

/** Opens storage and keys and prepares the store, without listening. */
export async function openStore(config: ServerConfig): Promise<{
  store: Store;
  db: SqlDriver;
  newAdminToken?: string;
  keySource: string;
  warnings: string[];
}> {
  if (config.adminToken !== undefined && config.adminToken.length < 24) {
    throw new StartupError('NOTEBOOK_SECRETS_ADMIN_TOKEN must be at least 24 characters.');
  }
  let keys;
  try {
    keys = loadKeyring({
      ...(config.key !== undefined ? { envKey: config.key } : {}),
      ...(config.oldKeys !== undefined ? { envOldKeys: config.oldKeys } : {}),
      keyFile: join(config.dataDir, 'server.key'),
    });
  } catch (error) {
    if (error instanceof KeyError) throw new StartupError(error.message);
    throw error;
  }
  let db: SqlDriver;
  try {
    db = config.databaseUrl
      ? await openPostgres(config.databaseUrl)
      : await openPglite(join(config.dataDir, 'db'));
  } catch (error) {
    const where = config.databaseUrl
      ? 'the PostgreSQL database in DATABASE_URL'
      : `the database in ${join(config.dataDir, 'db')}`;
    throw new StartupError(`Cannot open ${where}: ${(error as Error).message}`);
  }
  try {
    const databaseId = await migrate(db).catch((error: unknown) => {
      throw error instanceof SchemaTooNew ? new StartupError(error.message) : error;
    });
    const store = new Store(db, keys.keyring, databaseId, { keepValues: config.keepValues });
    try {
      await store.checkKeys();
    } catch (error) {
      if (error instanceof KeyError) {
        throw new StartupError(`Refusing to start: ${error.message}`);
      }
      throw error;
    }
    const newAdminToken = await store.bootstrapAdmin(config.adminToken);
    return {
      store,
      db,
      ...(newAdminToken ? { newAdminToken } : {}),
      keySource: keys.source,
      warnings: keys.warning ? [keys.warning] : [],
    };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The TLS material to serve with, or none for plain HTTP, which is refused on an address other
 * machines can reach unless `insecureHttp` (then a warning says so). Runs before anything opens.
 */
export function transportFor(config: ServerConfig): { tls?: TlsMaterial; warnings: string[] } {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new StartupError(
      config.tlsCert === undefined
        ? '--tls-key needs --tls-cert too (NOTEBOOK_SECRETS_TLS_CERT): pass both, or neither.'
        : '--tls-cert needs --tls-key too (NOTEBOOK_SECRETS_TLS_KEY): pass both, or neither.',
    );
  }
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    try {
      const tls = loadTls({ certFile: config.tlsCert, keyFile: config.tlsKey });
      return { tls, warnings: tls.warning ? [tls.warning] : [] };
    } catch (error) {
      if (error instanceof TlsConfigError) throw new StartupError(error.message);
      throw error;
    }
  }
  if (isLoopbackBind(config.host)) return { warnings: [] };
  if (!config.insecureHttp) {
    throw new StartupError(
      `Refusing to serve plain HTTP on ${config.host}, an address other machines can reach: ` +
        'tokens and secret values would cross the network unencrypted. Pass --tls-cert FILE ' +
        '--tls-key FILE to serve HTTPS, or --insecure-http (NOTEBOOK_SECRETS_INSECURE_HTTP=1) ' +
        'only when a TLS-terminating proxy is in front of this server.',
    );
  }
  return {
    warnings: [
      `serving plain HTTP on ${config.host} (--insecure-http): tokens and secret values are ` +
        'unencrypted on this connection. Only do this behind a TLS-terminating proxy that alone ' +
        'can reach this port.',
    ],
  };
}

/**
 * `--host localhost` listens wherever the resolver sends localhost: plain HTTP there only when
 * every address it resolves to is this machine's.
 */
async function checkLoopbackName(config: ServerConfig, tls: boolean): Promise<void> {
  if (tls || config.insecureHttp || !isLoopbackBind(config.host) || isLoopbackAddress(config.host))
    return;
  const answers = await lookup(config.host, { all: true }).catch(() => []);
  const outside = answers.map((a) => a.address).filter((a) => !isLoopbackAddress(a));
  if (outside.length > 0) {
    throw new StartupError(
      `Refusing to serve plain HTTP on ${config.host}: it resolves to ${outside.join(', ')}, ` +
        'which is not a loopback address (127.0.0.0/8, ::1), so tokens and secret values would ' +
        'cross the network unencrypted. Pass --host 127.0.0.1, or correct the hosts file.',
    );
  }
}

/** How often a database without autovacuum is looked after: autovacuum's own default pace. */
const MAINTENANCE_INTERVAL_MS = 60_000;

/** Runs the database's own maintenance (PGlite's, see SqlDriver.maintain) every minute. */
function scheduleMaintenance(db: SqlDriver, app: FastifyInstance): NodeJS.Timeout | undefined {
  if (!db.maintain) return undefined;
  const maintain = db.maintain.bind(db);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    maintain()
      .then((done) => {
        if (done.length > 0) app.log.info({ maintenance: done }, 'database maintenance');
      })
      .catch((error: unknown) => {
        app.log.warn(`database maintenance failed: ${(error as Error).message}`);
      })
      .finally(() => (running = false));
  }, MAINTENANCE_INTERVAL_MS);
  timer.unref();
  return timer;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const transport = transportFor(config);
  await checkLoopbackName(config, transport.tls !== undefined);
  const opened = await openStore(config);
  const app = await buildApp({
    ...(transport.tls && { https: { cert: transport.tls.cert, key: transport.tls.key } }),
    store: opened.store,
    maxValueBytes: config.maxValueBytes,
    rateLimit: config.rateLimit,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(config.logStream !== undefined ? { logStream: config.logStream } : {}),
    ...(config.logLevel !== undefined ? { logLevel: config.logLevel } : {}),
    ...(config.oidc ? { signIn: new SignIn(config.oidc, opened.store) } : {}),
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await opened.db.close().catch(() => undefined);
    throw new StartupError(
      `Cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const maintenance = scheduleMaintenance(opened.db, app);
  let closing: Promise<void> | undefined;
  return {
    url: `${transport.tls ? 'https' : 'http'}://${host}:${port}`,
    app,
    store: opened.store,
    backend: opened.db.kind,
    ...(opened.newAdminToken ? { newAdminToken: opened.newAdminToken } : {}),
    keySource: opened.keySource,
    warnings: [...transport.warnings, ...opened.warnings],
    ...(transport.tls && { tlsSummary: transport.tls.summary }),
    close() {
      closing ??= (async () => {
        clearInterval(maintenance);
        await app.close();
        await opened.db.close();
      })();
      return closing;
    },
  };
}
