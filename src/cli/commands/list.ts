/** `notebook-secrets list`: metadata of the secrets you can see, never values. */
import type { Command } from 'commander';
import { SecretType } from '../../core/model';
import { scopeKey } from '../../core/scope';
import { action, type CliIo } from '../client/io';
import { CliError, formatTable, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, searchOption, serverOption, typeOption } from '../options';

export interface ListOptions extends GlobalOptions {
  scope?: string;
  type?: string;
  search?: string;
}

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('List the secrets you can see (names and metadata, never values)')
    .addOption(scopeOption('list'))
    .addOption(typeOption())
    .addOption(searchOption())
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, options: ListOptions) => run(options, io)));
}

/** Prints the secrets' metadata as a table, or JSON. */
export async function run(options: ListOptions, io: CliIo): Promise<void> {
  const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
  if (type && !type.success) {
    throw new CliError(
      `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
    );
  }
  const session = io.openSession(options);
  const secrets = await session.api.listSecrets({
    ...(options.scope && { scope: options.scope }),
    ...(type?.data && { type: type.data }),
    ...(options.search && { q: options.search }),
  });
  if (options.json) {
    printJson(io, { secrets });
    return;
  }
  if (secrets.length === 0) {
    io.stdout('No secrets.\n');
    return;
  }
  const rows = [['NAME', 'SCOPE', 'TYPE', 'ROLE', 'VERSION', 'UPDATED']];
  for (const s of secrets) {
    rows.push([s.name, scopeKey(s.scope), s.type, s.role ?? '', String(s.version), s.updated_at]);
  }
  io.stdout(`${formatTable(rows)}\n`);
}
