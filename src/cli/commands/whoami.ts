/** `notebook-secrets whoami`: the signed-in user, their teams and projects. */
import type { Command } from 'commander';
import { action, type CliIo } from '../client/io';
import { printJson, type GlobalOptions } from '../client/session';
import { jsonOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('whoami')
    .description('Show the signed-in user, their teams and projects')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, options: GlobalOptions) => run(options, io)));
}

export async function run(options: GlobalOptions, io: CliIo): Promise<void> {
  const session = io.openSession(options);
  const me = await session.api.me();
  if (options.json) {
    printJson(io, { server: session.server, ...me });
    return;
  }
  io.stdout(
    `${me.user.id}${me.user.admin ? ' (admin)' : ''} on ${session.server}\n` +
      `teams: ${me.teams.map((t) => t.id).join(', ') || 'none'}\n` +
      `projects: ${me.projects.map((p) => p.id).join(', ') || 'none'}\n` +
      (session.project ? `active project: ${session.project}\n` : ''),
  );
}
