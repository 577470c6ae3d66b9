/** `notebook-secrets delete NAME`: deletes a secret (owners only). */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import { action, type CliIo } from '../client/io';
import { CliError, findSecret, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export interface DeleteOptions extends GlobalOptions {
  scope?: string;
  yes?: boolean;
}

export function register(program: Command): void {
  program
    .command('delete')
    .alias('rm')
    .description('Delete a secret and all its versions (owners only)')
    .argument('<name>', 'secret name')
    .addOption(scopeOption('change'))
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, name: string, options: DeleteOptions) => run(name, options, io)));
}

/** Deletes `name`, after a yes at the terminal unless --yes. */
export async function run(name: string, options: DeleteOptions, io: CliIo): Promise<void> {
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope, true);
  if (!options.yes) {
    if (!io.stdinIsTTY)
      throw new CliError('Pass --yes to delete without a terminal to confirm on.');
    const answer = await io.ask(
      `Delete '${name}' from ${scopeKey(secret.scope)} with all its versions? [y/N] `,
    );
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Not deleted.', 1, 'cancelled');
  }
  await session.api.deleteSecret(secret.id, secret.version);
  if (options.json)
    printJson(io, { deleted: true, id: secret.id, name, scope: scopeKey(secret.scope) });
  else io.stdout(`Deleted '${name}' from ${scopeKey(secret.scope)}.\n`);
}
