/**
 * `notebook-secrets projects` and `use PROJECT`: the projects you belong to, and which one is
 * active (project secrets of other projects do not apply to get, run and export).
 */
import type { Command } from 'commander';
import { configDir, loadConfig, saveConfig } from '../client/credentials';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, formatTable, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('projects')
    .description(
      'List the projects you belong to (directly or through a team); * marks the active one',
    )
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, options: GlobalOptions) => run(options, io)));

  program
    .command('use')
    .description('Make a project the active one (saved in the config; --none: no active project)')
    .argument('[project]', 'project id (see `notebook-secrets projects`)')
    .option('--none', 'clear the active project')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      action((io, project: string | undefined, options: UseOptions) =>
        runUse(project, options, io),
      ),
    );
}

/** `projects`: the projects you belong to; * marks the active one. */
export async function run(options: GlobalOptions, io: CliIo): Promise<void> {
  const session = io.openSession(options);
  const me = await session.api.me();
  if (options.json) {
    printJson(io, { active: session.project ?? null, projects: me.projects });
    return;
  }
  if (me.projects.length === 0) {
    io.stdout('You belong to no project.\n');
    return;
  }
  const rows = [['', 'PROJECT', 'NAME']];
  for (const p of me.projects) rows.push([p.id === session.project ? '*' : '', p.id, p.name]);
  io.stdout(`${formatTable(rows)}\n`);
}

export interface UseOptions extends GlobalOptions {
  none?: boolean;
}

/** `use PROJECT` or `use --none`: the active project, saved in the config. */
export async function runUse(
  project: string | undefined,
  options: UseOptions,
  io: CliIo,
): Promise<void> {
  if ((project === undefined) === !options.none)
    throw new CliError('Pass a project id, or --none to clear the active project.');
  const dir = configDir(io.env);
  const config = loadConfig(dir);
  if (options.none) {
    const rest = { ...config };
    delete rest.project;
    saveConfig(rest, dir);
    if (options.json) printJson(io, { active: null });
    else io.stdout('No active project.\n');
    return;
  }
  const session = io.openSession(options);
  const me = await session.api.me();
  if (!me.projects.some((p) => p.id === project)) {
    throw new CliError(
      `You do not belong to a project '${project}'. Yours: ${me.projects.map((p) => p.id).join(', ') || 'none'}.`,
      EXIT.notFound,
      'not_found',
    );
  }
  saveConfig({ ...config, project: project! }, dir);
  if (options.json) printJson(io, { active: project });
  else io.stdout(`Active project: ${project}.\n`);
}
