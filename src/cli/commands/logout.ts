/**
 * `notebook-secrets logout`: revokes the token on the server (so a copy of it stops working too),
 * then forgets it here. When the server cannot be reached the token is still forgotten here, and
 * the message says it may still be valid.
 */
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
import { action, type CliIo } from '../client/io';
import { cliApiClient, printJson, refresher, warn } from '../client/session';
import { jsonOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('logout')
    .description('Sign out: revoke the token on the server and remove it from this machine')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, options: LogoutOptions) => run(options, io)));
}

export interface LogoutOptions {
  server?: string;
  json?: boolean;
}

export async function run(options: LogoutOptions, io: CliIo): Promise<void> {
  const dir = configDir(io.env);
  const config = loadConfig(dir);
  const raw = options.server ?? config.server;
  const server = raw ? normalizeServerUrl(raw) : undefined;
  const store = new TokenStore(dir, io.env);
  const token = server ? store.get(server) : undefined;
  let revoked = false;
  if (server && token) {
    try {
      // An expired access token of a sign-in is renewed first, so the sign-in itself ends.
      await cliApiClient(server, io, token, refresher(server, store, io)).revokeOwnToken();
      revoked = true;
    } catch (error) {
      // 401: already revoked or expired, which is what logout wants.
      if (error instanceof ApiError && error.status === 401) revoked = true;
      else
        warn(
          io,
          `the server did not revoke the token (${(error as Error).message}); it is removed from this machine but may still be valid until an administrator revokes it.`,
        );
    }
    store.delete(server);
    store.delete(refreshAccount(server));
  }
  const rest = { ...config };
  delete rest.user;
  saveConfig(rest, dir);
  if (options.json) printJson(io, { signed_out: Boolean(token), revoked, server: server ?? null });
  else
    io.stdout(
      token
        ? `Signed out of ${server}${revoked ? '; the token is revoked' : ''}.\n`
        : 'Not signed in.\n',
    );
}
