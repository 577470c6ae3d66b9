/**
 * `notebook-secrets serve`: runs the team server. PGlite in the data directory by default,
 * PostgreSQL when DATABASE_URL is set. The first start prints an admin token once.
 *
 * `run` starts the server and prints where it listens through the io; the action adds what only
 * a process has: stopping on SIGINT and SIGTERM, and exiting. The io here is only the streams and
 * the environment: this bundle (dist/cli-serve.js) has none of the client's session code.
 */
import type { Command } from 'commander';
import type { CliIo } from '../client/io';
import {
  configFromEnv,
  defaultDataDir,
  startServer,
  StartupError,
  type RunningServer,
} from '../../server/server';
import { SERVER_VERSION } from '../../server/app';

export interface ServeOptions {
  data?: string;
  host: string;
  port: string;
  rateLimit?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new StartupError(`--port must be a number from 0 to 65535, not '${text}'.`);
  }
  return port;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the team server (PGlite in --data by default; PostgreSQL when DATABASE_URL is set)',
    )
    .option('--data <dir>', `data directory: database and key file (default: ${defaultDataDir()})`)
    .option(
      '--host <address>',
      'address to listen on (not loopback: needs TLS or --insecure-http)',
      '127.0.0.1',
    )
    .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .option(
      '--insecure-http',
      'allow plain HTTP on a non-loopback --host (only behind a TLS-terminating proxy)',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', '8787')
    .option('--rate-limit <n>', 'requests per second per token (0: no limit; default 50)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug (default info)')
    .addHelpText(
      'after',
      `
Environment:
  DATABASE_URL                    use this PostgreSQL database instead of PGlite
  NOTEBOOK_SECRETS_KEY            256-bit encryption key (base64 or hex); default: <data>/server.key, created 0600
  NOTEBOOK_SECRETS_OLD_KEYS       comma-separated older keys, still used to decrypt
  NOTEBOOK_SECRETS_ADMIN_TOKEN    register this admin token instead of printing a new one
  NOTEBOOK_SECRETS_TLS_CERT, NOTEBOOK_SECRETS_TLS_KEY   as --tls-cert, --tls-key
  NOTEBOOK_SECRETS_INSECURE_HTTP=1                      as --insecure-http (serve only; clients:
                                                        NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER)
  NOTEBOOK_SECRETS_MAX_VALUE_BYTES, NOTEBOOK_SECRETS_KEEP_VALUES (10), NOTEBOOK_SECRETS_RATE_BURST (200),
  NOTEBOOK_SECRETS_REQUEST_TIMEOUT_MS (30000)
  NOTEBOOK_SECRETS_KEY_FILE, …_OLD_KEYS_FILE, …_ADMIN_TOKEN_FILE, …_OIDC_CLIENT_SECRET_FILE
                                  read that secret from a file (e.g. a systemd credential)
  NOTEBOOK_SECRETS_OIDC_ISSUER, NOTEBOOK_SECRETS_OIDC_CLIENT_ID, NOTEBOOK_SECRETS_OIDC_CLIENT_SECRET
                                  sign people in with this identity provider (see docs/deploying.md)
  NOTEBOOK_SECRETS_OIDC_NAME, _SCOPES, _USER_CLAIM, _NAME_CLAIM, _GROUPS_CLAIM, _USERS (create|existing),
  _CLIENT_REDIRECTS, NOTEBOOK_SECRETS_PUBLIC_URL, NOTEBOOK_SECRETS_ACCESS_TOKEN_MINUTES (15),
  NOTEBOOK_SECRETS_SESSION_DAYS (30)

Logs are JSON lines on stderr (never values or tokens); the address and a new admin token go to stdout.`,
    )
    .action(async (options: ServeOptions) => {
      const io: ServeIo = {
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stderr.write(text),
        env: process.env,
      };
      let server: RunningServer;
      try {
        server = await run(options, io);
      } catch (error) {
        if (error instanceof StartupError) {
          io.stderr(`notebook-secrets serve: ${error.message}\n`);
          process.exit(1);
        }
        throw error;
      }
      stopOnSignals(server, io);
    });
}

/** What serve needs of its process besides signals and exiting. */
export type ServeIo = Pick<CliIo, 'stdout' | 'stderr' | 'env'>;

/** Starts the server as the options and environment say; prints where and how it listens. */
export async function run(options: ServeOptions, io: ServeIo): Promise<RunningServer> {
  const config = configFromEnv(io.env);
  if (options.data) config.dataDir = options.data;
  config.host = options.host;
  config.port = parsePort(options.port);
  if (options.rateLimit !== undefined) config.rateLimit.perSecond = Number(options.rateLimit);
  if (options.logLevel) config.logLevel = options.logLevel;
  if (options.tlsCert !== undefined) config.tlsCert = options.tlsCert;
  if (options.tlsKey !== undefined) config.tlsKey = options.tlsKey;
  if (options.insecureHttp) config.insecureHttp = true;
  const server = await startServer(config);
  for (const warning of server.warnings) io.stderr(`warning: ${warning}\n`);
  const where =
    server.backend === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`;
  io.stdout(`Notebook Secrets server ${SERVER_VERSION} on ${where}\n`);
  io.stdout(`Encryption key: ${server.keySource}\n`);
  if (server.tlsSummary) io.stdout(`TLS certificate: ${server.tlsSummary}\n`);
  if (server.newAdminToken) {
    io.stdout(
      `Admin token (shown once; keep it safe, e.g. export NOTEBOOK_SECRETS_ADMIN_TOKEN=…):\n  ${server.newAdminToken}\n`,
    );
  }
  io.stdout(`Listening on ${server.url}\n`);
  return server;
}

/** SIGINT or SIGTERM: finish the requests in flight, then exit; a second one exits at once. */
function stopOnSignals(server: RunningServer, io: ServeIo): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      io.stderr(`${signal} again: exiting without waiting.\n`);
      process.exit(1);
    }
    stopping = true;
    io.stderr(`${signal}: finishing requests in flight, then stopping.\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        io.stderr(`Stopping failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
