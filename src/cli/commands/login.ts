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
import { promptHidden } from '../client/prompt';
import {
  action,
  checkClientTransport,
  CliError,
  cliApiClient,
  printJson,
  readStdin,
  warn,
} from '../client/session';
import { jsonOption, projectOption, serverOption } from '../options';

interface LoginOptions {
  server?: string;
  device?: boolean;
  token?: string;
  tokenStdin?: boolean;
  project?: string;
  json?: boolean;
  insecureHttp?: boolean;
}

/** The server's identity provider, or null (none set up, or a server from before sign-in). */
async function providerOf(server: string) {
  try {
    return (await cliApiClient(server).signInConfig()).oidc;
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
    .action(
      action(async (options: LoginOptions) => {
        const env = process.env;
        const config = loadConfig();
        const rawServer = options.server ?? env.NOTEBOOK_SECRETS_SERVER ?? config.server;
        if (!rawServer) throw new CliError('Pass --server URL (the team server to sign in to).');
        const server = normalizeServerUrl(rawServer);
        const transport = checkClientTransport(
          server,
          { given: options.insecureHttp === true, how: '--insecure-http' },
          env,
        );
        const store = new TokenStore(configDir(env), env);
        let token: string | undefined;
        let refreshToken: string | undefined;
        const oidc =
          options.token === undefined && !options.tokenStdin && !env.NOTEBOOK_SECRETS_TOKEN
            ? await providerOf(server)
            : null;
        if (oidc && options.device && !oidc.device) {
          throw new CliError(
            `${oidc.name} does not offer sign-in with a code; run login without --device on a machine with a browser.`,
          );
        }
        if (oidc) {
          const tokens = await signInWithProvider(cliApiClient(server), {
            provider: oidc.name,
            device: options.device === true,
            say: (line) => process.stderr.write(`${line}\n`),
            open: openBrowser,
          });
          token = tokens.access_token;
          refreshToken = tokens.refresh_token;
        } else if (options.device) {
          throw new CliError(
            `The server at ${server} has no identity provider set up: sign in with a token from your administrator.`,
          );
        } else if (options.token !== undefined) {
          warn(
            'a token given with --token may be kept in your shell history; prefer --token-stdin.',
          );
          token = options.token;
        } else if (options.tokenStdin) {
          token = await readStdin();
        } else if (env.NOTEBOOK_SECRETS_TOKEN) {
          token = env.NOTEBOOK_SECRETS_TOKEN;
        } else if (process.stdin.isTTY) {
          token = await promptHidden(`Token for ${server}: `);
        } else {
          token = await readStdin();
        }
        token = token.trim();
        if (!token)
          throw new CliError('No token given. Pass it on stdin (--token-stdin) or at the prompt.');
        const api = cliApiClient(server, token);
        await api.health();
        const me = await api.me();
        const where = store.set(server, token);
        if (refreshToken) store.set(refreshAccount(server), refreshToken);
        else store.delete(refreshAccount(server));
        saveConfig({
          ...config,
          server,
          user: me.user.id,
          // Kept only when asked for here: NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER holds while set.
          insecureHttp:
            transport === 'insecure-http' && options.insecureHttp === true ? true : undefined,
          ...(options.project !== undefined && { project: options.project }),
        });
        if (options.json) {
          printJson({ server, user: me.user.id, token_stored_in: where });
        } else {
          const teams = me.teams.map((t) => t.id).join(', ') || 'none';
          process.stdout.write(
            `Signed in to ${server} as ${me.user.id} (teams: ${teams}). Token kept in ${
              where === 'keyring' ? 'the OS keyring' : `${configDir(env)}/credentials.json (0600)`
            }.\n`,
          );
        }
      }),
    );
}
