/** `notebook-secrets history NAME`: who changed what when (never values). */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import { action, type CliIo } from '../client/io';
import { findSecret, formatTable, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('history')
    .description('Show the version history of a secret (who changed what when; never values)')
    .argument('<name>', 'secret name')
    .addOption(scopeOption('read'))
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, name: string, options: HistoryOptions) => run(name, options, io)));
}

export interface HistoryOptions extends GlobalOptions {
  scope?: string;
}

export async function run(name: string, options: HistoryOptions, io: CliIo): Promise<void> {
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope);
  const versions = await session.api.versions(secret.id);
  if (options.json) {
    printJson(io, { id: secret.id, name, scope: scopeKey(secret.scope), versions });
    return;
  }
  const rows = [['VERSION', 'CHANGE', 'AUTHOR', 'AT', 'RESTORABLE']];
  for (const v of versions)
    rows.push([String(v.version), v.kind, v.author, v.at, v.restorable ? 'yes' : 'no']);
  const restorable = versions.some((v) => v.restorable && v.version !== secret.version);
  io.stdout(
    `${name} (${scopeKey(secret.scope)})\n${formatTable(rows)}\n` +
      (restorable ? `Restore a version with: notebook-secrets restore ${name} VERSION\n` : ''),
  );
}
