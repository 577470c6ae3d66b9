/** `notebook-secrets delete NAME`: deletes a secret (owners only). */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import {
  action,
  CliError,
  findSecret,
  openSession,
  printJson,
  type GlobalOptions,
} from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

interface DeleteOptions extends GlobalOptions {
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
    .action(
      action(async (name: string, options: DeleteOptions) => {
        const session = openSession(options);
        const secret = await findSecret(session, name, options.scope, true);
        if (!options.yes) {
          if (!process.stdin.isTTY)
            throw new CliError('Pass --yes to delete without a terminal to confirm on.');
          // Not import(): dist/cli.js runs the bundle as a vm script, where import() is refused.
          const { createInterface } = process.getBuiltinModule('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(
            `Delete '${name}' from ${scopeKey(secret.scope)} with all its versions? [y/N] `,
          );
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Not deleted.', 1, 'cancelled');
        }
        await session.api.deleteSecret(secret.id, secret.version);
        if (options.json)
          printJson({ deleted: true, id: secret.id, name, scope: scopeKey(secret.scope) });
        else process.stdout.write(`Deleted '${name}' from ${scopeKey(secret.scope)}.\n`);
      }),
    );
}
