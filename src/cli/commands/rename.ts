/**
 * `notebook-secrets rename NAME NEW_NAME`: a new name in the same scope; the secret keeps its id,
 * versions, values, grants and history, so notebooks and people it is shared with follow it.
 */
import type { Command } from 'commander';
import { NAME_PATTERN, NAME_RULE } from '../../core/model';
import { MAX_NAME_LENGTH } from '../../core/limits';
import { scopeKey } from '../../core/scope';
import { ApiError } from '../../sync/errors';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, findSecret, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('rename')
    .description(
      'Give a secret a new name in its scope, keeping its versions, history and sharing (owners)',
    )
    .argument('<name>', 'the current name')
    .argument('<new-name>', 'the new name (letters, digits and _, not starting with a digit)')
    .addOption(scopeOption('change'))
    .addOption(serverOption())
    .addOption(jsonOption('print the renamed secret (metadata, never the value) as JSON'))
    .addHelpText(
      'after',
      `
Examples:
  notebook-secrets rename OPENAI_KEY OPENAI_API_KEY
  notebook-secrets rename DB_PASSWORD PG_PASSWORD --scope team:data

Code that reads the old name (get_secret('OPENAI_KEY'), \`run\`) needs the new one afterwards.`,
    )
    .action(
      action((io, name: string, newName: string, options: RenameOptions) =>
        run(name, newName, options, io),
      ),
    );
}

export interface RenameOptions extends GlobalOptions {
  scope?: string;
}

export async function run(
  name: string,
  newName: string,
  options: RenameOptions,
  io: CliIo,
): Promise<void> {
  // Checked before any request, so a typo costs nothing.
  if (newName.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(newName)) {
    throw new CliError(`'${newName}' cannot be a secret name. ${NAME_RULE}`);
  }
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope, true);
  if (newName === secret.name) {
    throw new CliError(`'${name}' already has that name; nothing to rename.`);
  }
  let renamed;
  try {
    renamed = await session.api.updateSecret(secret.id, secret.version, { name: newName });
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      throw new CliError(
        `A secret named '${newName}' already exists in ${scopeKey(secret.scope)}; '${name}' keeps its name. Pick another name, or rename or delete that one first.`,
        EXIT.conflict,
        'name_taken',
      );
    }
    throw error;
  }
  if (options.json) printJson(io, renamed);
  else
    io.stdout(
      `Renamed '${name}' to '${newName}' in ${scopeKey(renamed.scope)} (now version ${renamed.version}; its history and sharing are kept).\n`,
    );
}
