/** `notebook-secrets audit [NAME]`: the audit log as the caller may see it (never values). */
import type { Command } from 'commander';
import { action, type CliIo } from '../client/io';
import {
  CliError,
  findSecret,
  formatTable,
  printJson,
  type GlobalOptions,
} from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export interface AuditOptions extends GlobalOptions {
  scope?: string;
  limit: string;
  before?: string;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description(
      'Show the audit log: events on the secrets you own and your own actions, or on one secret (owners); never values',
    )
    .argument('[name]', 'only events on this secret')
    .addOption(scopeOption('audit'))
    .option('--limit <n>', 'how many entries, newest first (1 to 1000)', '50')
    .option('--before <id>', 'page back: the `next` of the previous page')
    .addOption(serverOption())
    .addOption(jsonOption('print the result as JSON (with `next` for the following page)'))
    .addHelpText(
      'after',
      `
Examples:
  notebook-secrets audit                     # recent events you may see
  notebook-secrets audit API_KEY --limit 10  # who read or changed API_KEY`,
    )
    .action(
      action((io, name: string | undefined, options: AuditOptions) => run(name, options, io)),
    );
}

export async function run(
  name: string | undefined,
  options: AuditOptions,
  io: CliIo,
): Promise<void> {
  const limit = Number(options.limit);
  if (!/^\d+$/.test(options.limit) || limit < 1 || limit > 1000)
    throw new CliError(`--limit must be a whole number from 1 to 1000, not '${options.limit}'.`);
  const session = io.openSession(options);
  const secret = name ? await findSecret(session, name, options.scope) : undefined;
  const page = await session.api.audit({
    ...(secret && { secret: secret.id }),
    ...(options.before && { before: options.before }),
    limit,
  });
  if (options.json) {
    printJson(io, page);
    return;
  }
  if (page.entries.length === 0) {
    io.stdout('No audit entries.\n');
    return;
  }
  const rows = [['AT', 'ACTOR', 'ACTION', 'SECRET', 'VERSION', 'CLIENT', 'DETAIL']];
  for (const e of page.entries)
    rows.push([
      e.at,
      e.actor,
      e.action,
      // Token events name the user the token is for instead of a secret.
      e.secret_name ?? (e.subject && e.detail === null ? `token for ${e.subject}` : ''),
      e.version === null ? '' : String(e.version),
      e.client,
      // Sign-in events: how the person signed in, or why it failed.
      e.detail ?? '',
    ]);
  io.stdout(
    `${formatTable(rows)}\n${page.next ? `More: notebook-secrets audit${name ? ` ${name}` : ''} --before ${page.next}\n` : ''}`,
  );
}
