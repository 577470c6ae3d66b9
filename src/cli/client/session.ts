/**
 * What every client subcommand of the CLI shares: the signed-in session, finding a secret by name,
 * scopes from flags, output (--json), and exit codes a script can rely on.
 *
 * Exit codes (also in docs/cli.md):
 *   0 success · 1 unexpected error · 2 bad usage or input (400, 413) · 3 not signed in, or the
 *   token was refused (401) · 4 not found (404) · 5 conflict: name taken (409) or changed
 *   meanwhile (412) · 6 access denied (403) or last owner (422) · 7 server unreachable or
 *   unavailable (network, TLS, timeout, 5xx, 429) · 8 malformed answer from the server.
 *   `run` exits with the command's own exit code.
 */
import { config as zodConfig } from '../../core/zod';
import { displayText } from '../../core/displayText';
import { SecretsError, type ErrorCode } from '../../core/errors';
import {
  checkTransport,
  insecureWarning,
  normalizeServerUrl,
  type Transport,
} from '../../core/serverUrl';
import type { Scope, SecretMetadata } from '../../core/model';
import { parseScopeKey, resolveByPrecedence, sameScope, scopeKey } from '../../core/scope';
import { ApiClient } from '../../sync/client';
import { ApiError, ServerUnreachable } from '../../sync/errors';
import { configDir, loadConfig, refreshAccount, TokenStore, type CliConfig } from './credentials';
import type { CliIo } from './io';
import { PrivateFileError } from './privateFile';

// A CLI run parses a handful of bodies once each: zod's compiled parsers (new Function per
// schema, on first use) cost more than they save there.
zodConfig({ jitless: true });

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  unauthorized: 3,
  notFound: 4,
  conflict: 5,
  denied: 6,
  unreachable: 7,
  malformed: 8,
} as const;

const CODE_EXIT: Partial<Record<ErrorCode, number>> = {
  invalid_name: EXIT.usage,
  invalid_input: EXIT.usage,
  value_too_large: EXIT.usage,
  unauthorized: EXIT.unauthorized,
  not_found: EXIT.notFound,
  name_taken: EXIT.conflict,
  version_conflict: EXIT.conflict,
  access_denied: EXIT.denied,
  last_owner: EXIT.denied,
  unavailable: EXIT.unreachable,
  malformed_response: EXIT.malformed,
};

/** A failure with a chosen exit code and a message for people (never a value). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    readonly code = 'usage',
  ) {
    super(message);
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof PrivateFileError) return EXIT.usage;
  if (error instanceof ServerUnreachable) return EXIT.unreachable;
  if (error instanceof ApiError && error.status === 429) return EXIT.unreachable;
  if (error instanceof SecretsError) return CODE_EXIT[error.code] ?? EXIT.error;
  return EXIT.error;
}

export interface GlobalOptions {
  json?: boolean;
  server?: string;
  project?: string;
}

/** Prints `value` as indented JSON on stdout (--json). */
export function printJson(io: Pick<CliIo, 'stdout'>, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

export function warn(io: Pick<CliIo, 'stderr'>, message: string): void {
  io.stderr(`warning: ${message}\n`);
}

/** What opening a session needs of the process: its environment, stderr and transport. */
export type SessionIo = Pick<CliIo, 'env' | 'stderr' | 'fetch'>;

export interface Session {
  api: ApiClient;
  server: string;
  config: CliConfig;
  project?: string;
  /** The signed-in user, when the saved sign-in names it (a token from the environment does not). */
  user?: string;
}

/**
 * For secrets of a listing: the owner of someone else's personal secret shared with you, else
 * undefined (yours, a project's or a team's). Asks the server who you are only when needed.
 */
export async function sharedByOf(
  session: Session,
  secrets: readonly SecretMetadata[],
): Promise<(s: SecretMetadata) => string | undefined> {
  if (!secrets.some((s) => s.scope.kind === 'personal')) return () => undefined;
  const me = await currentUser(session);
  return (s) => (s.scope.kind === 'personal' && s.created_by !== me ? s.created_by : undefined);
}

/** The signed-in user's id: from the saved sign-in, else asked of the server once. */
async function currentUser(session: Session): Promise<string> {
  session.user ??= (await session.api.me()).user.id;
  return session.user;
}

/**
 * The API client as the CLI uses it (the io's transport, node:http for the process; its own
 * User-Agent); `refresh` renews an expired access token of a sign-in with the identity provider.
 */
export function cliApiClient(
  server: string,
  io: Pick<CliIo, 'fetch'>,
  token?: string,
  refresh?: () => Promise<string | undefined>,
): ApiClient {
  return new ApiClient({
    baseUrl: server,
    ...(token !== undefined && { token }),
    userAgent: 'notebook-secrets-cli',
    fetch: io.fetch,
    ...(refresh && { refresh }),
  });
}

/** The clients' variable: plain http:// off this machine to the one server it names. */
export const INSECURE_SERVER_ENV = 'NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER';

/**
 * Holds a client command to the plain-HTTP rule for the team server URL `server`: http:// off this
 * machine only with the command's own opt-in (`optIn.given`: --insecure-http, or one saved by
 * `login` for this server), or when NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER names this server's
 * origin. Warns when the connection is insecure and says how it connects; throws InvalidInput
 * with the rule otherwise.
 * (NOTEBOOK_SECRETS_INSECURE_HTTP is `serve`'s, for a server behind a proxy: no client reads it.)
 */
export function checkClientTransport(
  server: string,
  optIn: { given: boolean; how: string },
  io: Pick<CliIo, 'env' | 'stderr'>,
): Transport {
  const { env } = io;
  const url = new URL(server);
  const named = env[INSECURE_SERVER_ENV];
  let byEnv = false;
  if (named) {
    let origin: string | undefined;
    try {
      const parsed = new URL(named);
      if (parsed.protocol === 'http:') origin = parsed.origin;
    } catch {
      origin = undefined;
    }
    if (!origin) {
      throw new CliError(
        `${INSECURE_SERVER_ENV} must be the http:// URL of the one team server to reach over plain HTTP (e.g. http://secrets.lab.internal:8787), not '${named}'.`,
      );
    }
    byEnv = origin === url.origin;
  }
  const serveOnly = env.NOTEBOOK_SECRETS_INSECURE_HTTP
    ? ' (NOTEBOOK_SECRETS_INSECURE_HTTP is for `notebook-secrets serve` only)'
    : '';
  const transport = checkTransport(url, {
    allowInsecureHttp: optIn.given || byEnv,
    optIn: `${optIn.how}, or ${INSECURE_SERVER_ENV}=${url.origin} for this server alone${serveOnly}`,
    what: 'The team server URL',
  });
  if (transport === 'insecure-http')
    warn(io, insecureWarning(url, optIn.given ? optIn.how : INSECURE_SERVER_ENV));
  return transport;
}

/** Renews the saved sign-in of `server` with its refresh token; undefined when it cannot. */
export function refresher(
  server: string,
  store: TokenStore,
  io: Pick<CliIo, 'fetch'>,
): () => Promise<string | undefined> {
  return async () => {
    const refreshToken = store.get(refreshAccount(server));
    if (!refreshToken) return undefined;
    try {
      const tokens = await cliApiClient(server, io).redeem({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      store.set(server, tokens.access_token);
      store.set(refreshAccount(server), tokens.refresh_token);
      return tokens.access_token;
    } catch {
      // Refused (signed out, disabled, expired): the 401 that asked stands, saying sign in again.
      store.delete(refreshAccount(server));
      return undefined;
    }
  };
}

/** The signed-in client: NOTEBOOK_SECRETS_SERVER/_TOKEN, else the saved config and token. */
export function openSession(options: GlobalOptions, io: SessionIo): Session {
  const { env } = io;
  const config = loadConfig(configDir(env));
  const rawServer = options.server ?? env.NOTEBOOK_SECRETS_SERVER ?? config.server;
  if (!rawServer) {
    throw new CliError(
      'Not signed in. Run `notebook-secrets login --server URL` first, or keep secrets on this machine only with `notebook-secrets local set NAME` (see `notebook-secrets local --help`).',
      EXIT.unauthorized,
      'unauthorized',
    );
  }
  const server = normalizeServerUrl(rawServer);
  // Plain HTTP off this machine only as `login --insecure-http` saved it for this server.
  checkClientTransport(
    server,
    {
      given: config.insecureHttp === true && config.server === server,
      how: '`notebook-secrets login --insecure-http`',
    },
    io,
  );
  const store = new TokenStore(configDir(env), env);
  const token = env.NOTEBOOK_SECRETS_TOKEN || store.get(server);
  if (!token) {
    throw new CliError(
      `Not signed in to ${server}. Run \`notebook-secrets login --server ${server}\` first.`,
      EXIT.unauthorized,
      'unauthorized',
    );
  }
  const project = options.project ?? env.NOTEBOOK_SECRETS_PROJECT ?? config.project;
  const savedUser =
    !env.NOTEBOOK_SECRETS_TOKEN && config.server === server ? config.user : undefined;
  return {
    api: env.NOTEBOOK_SECRETS_TOKEN
      ? cliApiClient(server, io, token)
      : cliApiClient(server, io, token, refresher(server, store, io)),
    server,
    config,
    ...(project && { project }),
    ...(savedUser && { user: savedUser }),
  };
}

/** Parses `--scope`: `personal`, `project:ID` or `team:ID`. */
export function parseScopeOption(text: string): Scope {
  const scope = parseScopeKey(text.trim());
  if (!scope) {
    throw new CliError(
      `The scope '${text}' is not one of personal, project:ID or team:ID.`,
      EXIT.usage,
      'invalid_input',
    );
  }
  return scope;
}

export function describeScope(scope: Scope): string {
  return scopeKey(scope);
}

/**
 * The secret a name means. With --scope: the one in that scope. Without: for reads, the one that
 * wins by precedence (personal > active project > team); for changes (`forChange`), the only one
 * of that name, or an error asking for --scope when there are several.
 */
export async function findSecret(
  session: Session,
  name: string,
  scopeText: string | undefined,
  forChange = false,
): Promise<SecretMetadata> {
  const named = (await session.api.listSecrets({ q: name })).filter((s) => s.name === name);
  // Someone else's personal secret shared with you is theirs: `--scope personal` means your own,
  // and a change by name takes yours (or a team's) when there is one.
  const sharedBy = await sharedByOf(session, named);
  const mine = named.filter((s) => sharedBy(s) === undefined);
  const candidates = forChange && mine.length > 0 ? mine : named;
  if (scopeText !== undefined) {
    const scope = parseScopeOption(scopeText);
    const found = candidates.find((s) => sharedBy(s) === undefined && sameScope(s.scope, scope));
    if (!found) {
      throw new CliError(
        `No secret named '${name}' in scope ${scopeKey(scope)}.`,
        EXIT.notFound,
        'not_found',
      );
    }
    return found;
  }
  const eligible = candidates.filter(
    (s) => s.scope.kind !== 'project' || !session.project || s.scope.id === session.project,
  );
  if (forChange && eligible.length > 1) {
    throw new CliError(
      `'${name}' exists in several scopes (${eligible.map((s) => scopeKey(s.scope)).join(', ')}); pass --scope.`,
      EXIT.usage,
    );
  }
  const found = resolveByPrecedence(
    eligible,
    name,
    session.project ? { project: session.project } : {},
    sharedBy,
  );
  if (!found)
    throw new CliError(`No secret named '${name}' is available.`, EXIT.notFound, 'not_found');
  return found;
}

/**
 * Rows as aligned columns. Cells hold the server's text (descriptions, audit clients, names), so
 * each is shown without control characters or escape sequences: it cannot drive the terminal.
 */
export function formatTable(table: string[][]): string {
  if (table.length === 0) return '';
  const rows = table.map((row) => row.map((cell) => displayText(cell, Infinity)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
    )
    .join('\n');
}
