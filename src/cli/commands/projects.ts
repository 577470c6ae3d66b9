/**
 * `notebook-secrets projects` and `use PROJECT`: the projects you belong to, and which one is
 * active (project secrets of other projects do not apply to get, run and export).
 */
import type { Command } from 'commander';
import { loadConfig, saveConfig } from '../client/credentials';
import {
  action,
  CliError,
  EXIT,
  formatTable,
  openSession,
  printJson,
  type GlobalOptions,
} from '../client/session';
import { jsonOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('projects')
    .description(
      'List the projects you belong to (directly or through a team); * marks the active one',
    )
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      action(async (options: GlobalOptions) => {
        const session = openSession(options);
        const me = await session.api.me();
        if (options.json) {
          printJson({ active: session.project ?? null, projects: me.projects });
          return;
        }
        if (me.projects.length === 0) {
          process.stdout.write('You belong to no project.\n');
          return;
        }
        const rows = [['', 'PROJECT', 'NAME']];
        for (const p of me.projects) rows.push([p.id === session.project ? '*' : '', p.id, p.name]);
        process.stdout.write(`${formatTable(rows)}\n`);
      }),
    );

  program
    .command('use')
    .description('Make a project the active one (saved in the config; --none: no active project)')
    .argument('[project]', 'project id (see `notebook-secrets projects`)')
    .option('--none', 'clear the active project')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      action(async (project: string | undefined, options: GlobalOptions & { none?: boolean }) => {
        if ((project === undefined) === !options.none)
          throw new CliError('Pass a project id, or --none to clear the active project.');
        const config = loadConfig();
        if (options.none) {
          const rest = { ...config };
          delete rest.project;
          saveConfig(rest);
          if (options.json) printJson({ active: null });
          else process.stdout.write('No active project.\n');
          return;
        }
        const session = openSession(options);
        const me = await session.api.me();
        if (!me.projects.some((p) => p.id === project)) {
          throw new CliError(
            `You do not belong to a project '${project}'. Yours: ${me.projects.map((p) => p.id).join(', ') || 'none'}.`,
            EXIT.notFound,
            'not_found',
          );
        }
        saveConfig({ ...config, project: project! });
        if (options.json) printJson({ active: project });
        else process.stdout.write(`Active project: ${project}.\n`);
      }),
    );
}
