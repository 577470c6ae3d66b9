/** `notebook-secrets whoami`: the signed-in user, their teams and projects. */
import type { Command } from 'commander';
import { action, openSession, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('whoami')
    .description('Show the signed-in user, their teams and projects')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      action(async (options: GlobalOptions) => {
        const session = openSession(options);
        const me = await session.api.me();
        if (options.json) {
          printJson({ server: session.server, ...me });
          return;
        }
        process.stdout.write(
          `${me.user.id}${me.user.admin ? ' (admin)' : ''} on ${session.server}\n` +
            `teams: ${me.teams.map((t) => t.id).join(', ') || 'none'}\n` +
            `projects: ${me.projects.map((p) => p.id).join(', ') || 'none'}\n` +
            (session.project ? `active project: ${session.project}\n` : ''),
        );
      }),
    );
}
