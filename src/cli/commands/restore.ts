/** `notebook-secrets restore NAME VERSION`: an earlier version's value becomes the newest version. */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, findSecret, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('restore')
    .description(
      "Make an earlier version's value current again, as a new version (owners; see `history` for restorable versions)",
    )
    .argument('<name>', 'secret name')
    .argument('<version>', 'the version whose value to restore')
    .addOption(scopeOption('change'))
    .addOption(serverOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Example:
  notebook-secrets history API_KEY        # the RESTORABLE column says which versions kept a value
  notebook-secrets restore API_KEY 3`,
    )
    .action(
      action((io, name: string, versionText: string, options: RestoreOptions) =>
        run(name, versionText, options, io),
      ),
    );
}

export interface RestoreOptions extends GlobalOptions {
  scope?: string;
}

export async function run(
  name: string,
  versionText: string,
  options: RestoreOptions,
  io: CliIo,
): Promise<void> {
  const version = Number(versionText);
  if (!/^\d+$/.test(versionText) || !Number.isSafeInteger(version) || version < 1) {
    throw new CliError(`The version '${versionText}' is not a positive whole number.`);
  }
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope, true);
  const versions = await session.api.versions(secret.id);
  const entry = versions.find((v) => v.version === version);
  if (!entry) {
    throw new CliError(
      `'${name}' has no version ${version} (its versions are 1 to ${secret.version}).`,
      EXIT.notFound,
      'not_found',
    );
  }
  if (!entry.restorable) {
    const restorable = versions.filter((v) => v.restorable).map((v) => v.version);
    throw new CliError(
      `Version ${version} of '${name}' no longer keeps its value, so it cannot be restored.${
        restorable.length > 0 ? ` Restorable versions: ${restorable.join(', ')}.` : ''
      }`,
      EXIT.notFound,
      'not_found',
    );
  }
  const restored = await session.api.restore(secret.id, version, secret.version);
  if (options.json) printJson(io, { restored_from: version, secret: restored });
  else
    io.stdout(
      `Restored '${name}' in ${scopeKey(restored.scope)} to the value of version ${version} (now version ${restored.version}).\n`,
    );
}
