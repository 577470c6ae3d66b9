/** `notebook-secrets login`: signs in to a team server and keeps the token out of config.json. */
import type { Command } from 'commander';
import { normalizeServerUrl } from '../../core/serverUrl';
import { ApiError } from '../../sync/errors';
import {
  configDir,
  loadConfig,
  refreshAccount,
  saveConfig,
  TokenStore,
} from '../client/credentials';
import { signInWithProvider } from '../../sync/providerSignIn';
import { openBrowser } from '../client/openBrowser';
import { action, type CliIo } from '../client/io';
import { checkClientTransport, CliError, cliApiClient, printJson, warn } from '../client/session';
import { jsonOption, projectOption, serverOption } from '../options';

export interface LoginOptions {
  server?: string;
  device?: boolean;
  token?: string;
  tokenStdin?: boolean;
  project?: string;
  json?: boolean;
  insecureHttp?: boolean;
}

/** The server's identity provider, or null (none set up, or a server from before sign-in). */
async function providerOf(server: string, io: CliIo) {
  try {
    return (await cliApiClient(server, io).signInConfig()).oidc;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function register(program: Command): void {
  program
    .command('login')
    .description('Sign in to a team server (the token is kept in the OS keyring, or a 0600 file)')
    .addOption(
      serverOption('server URL, e.g. https://secrets.example.com (default: the saved one)'),
    )
    .option(
      '--insecure-http',
      'allow plain http:// to another machine (tokens and values unencrypted; only behind a trusted proxy)',
    )
    .option(
      '--device',
      "sign in with the server's identity provider by a code entered on another device (no browser here)",
    )
    .option('--token-stdin', 'read the token from stdin')
    .option('--token <token>', 'the token (discouraged: visible in shell history and `ps`)')
    .addOption(projectOption('the active project for get/run'))
    .addOption(jsonOption())
    .action(action((io, options: LoginOptions) => run(options, io)));
}

/** Signs in: the identity provider when the server has one, else a token; saves both. */
export async function run(options: LoginOptions, io: CliIo): Promise<void> {
  const env = io.env;
  const dir = configDir(env);
  const config = loadConfig(dir);
  const rawServer = options.server ?? env.NOTEBOOK_SECRETS_SERVER ?? config.server;
  if (!rawServer) throw new CliError('Pass --server URL (the team server to sign in to).');
  const server = normalizeServerUrl(rawServer);
  const transport = checkClientTransport(
    server,
    { given: options.insecureHttp === true, how: '--insecure-http' },
    io,
  );
  const store = new TokenStore(dir, env);
  let token: string | undefined;
  let refreshToken: string | undefined;
  const oidc =
    options.token === undefined && !options.tokenStdin && !env.NOTEBOOK_SECRETS_TOKEN
      ? await providerOf(server, io)
      : null;
  if (oidc && options.device && !oidc.device) {
    throw new CliError(
      `${oidc.name} does not offer sign-in with a code; run login without --device on a machine with a browser.`,
    );
  }
  if (oidc) {
    const tokens = await signInWithProvider(cliApiClient(server, io), {
      provider: oidc.name,
      device: options.device === true,
      say: (line) => io.stderr(`${line}\n`),
      open: openBrowser,
    });
    token = tokens.access_token;
    refreshToken = tokens.refresh_token;
  } else if (options.device) {
    throw new CliError(
      `The server at ${server} has no identity provider set up: sign in with a token from your administrator.`,
    );
  } else if (options.token !== undefined) {
    warn(io, 'a token given with --token may be kept in your shell history; prefer --token-stdin.');
    token = options.token;
  } else if (options.tokenStdin) {
    token = await io.readStdin();
  } else if (env.NOTEBOOK_SECRETS_TOKEN) {
    token = env.NOTEBOOK_SECRETS_TOKEN;
  } else if (io.stdinIsTTY) {
    token = await io.promptHidden(`Token for ${server}: `);
  } else {
    token = await io.readStdin();
  }
  token = token.trim();
  if (!token)
    throw new CliError('No token given. Pass it on stdin (--token-stdin) or at the prompt.');
  const api = cliApiClient(server, io, token);
  await api.health();
  const me = await api.me();
  const where = store.set(server, token);
  if (refreshToken) store.set(refreshAccount(server), refreshToken);
  else store.delete(refreshAccount(server));
  saveConfig(
    {
      ...config,
      server,
      user: me.user.id,
      // Kept only when asked for here: NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER holds while set.
      insecureHttp:
        transport === 'insecure-http' && options.insecureHttp === true ? true : undefined,
      ...(options.project !== undefined && { project: options.project }),
    },
    dir,
  );
  if (options.json) {
    printJson(io, { server, user: me.user.id, token_stored_in: where });
  } else {
    const teams = me.teams.map((t) => t.id).join(', ') || 'none';
    io.stdout(
      `Signed in to ${server} as ${me.user.id} (teams: ${teams}). Token kept in ${
        where === 'keyring' ? 'the OS keyring' : `${dir}/credentials.json (0600)`
      }.\n`,
    );
  }
}
