/** `notebook-secrets logout`: forgets the token of the saved (or given) server. */
import type { Command } from 'commander';
import { normalizeServerUrl } from '../../sync/client';
import { configDir, loadConfig, saveConfig, TokenStore } from '../client/credentials';
import { action, printJson } from '../client/session';

export function register(program: Command): void {
  program
    .command('logout')
    .description('Sign out: remove the stored token')
    .option('--server <url>', 'server URL (default: the saved one)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (options: { server?: string; json?: boolean }) => {
        const config = loadConfig();
        const raw = options.server ?? config.server;
        if (raw) new TokenStore(configDir()).delete(normalizeServerUrl(raw));
        const rest = { ...config };
        delete rest.user;
        saveConfig(rest);
        if (options.json) printJson({ signed_out: true, server: raw ?? null });
        else process.stdout.write(raw ? `Signed out of ${raw}.\n` : 'Not signed in.\n');
        await Promise.resolve();
      }),
    );
}
