/**
 * The CLI's help and completion scripts, as users see them, against snapshots/help.txt and
 * snapshots/completion.txt: a change to a command's wiring that changes a flag, a description or
 * the order of options shows here. After a deliberate change, regenerate with
 * `npx vitest run --project unit test/unit/cli/help.unit.test.ts -u` and review the diff.
 */
import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as attach from '../../../src/cli/commands/attach';
import * as jupyterlabBridge from '../../../src/cli/commands/jupyterlabBridge';
import * as serve from '../../../src/cli/commands/serve';
import { createProgram, registerSubcommands } from '../../../src/cli/program';

/** The program as `notebook-secrets --help` builds it: every subcommand, help at 80 columns. */
async function fullProgram(argv: string[] = ['node', 'notebook-secrets']): Promise<Command> {
  const program = bareProgram();
  await registerSubcommands(program, argv);
  return program;
}

/** What help printed, as it would go to stdout. */
let printed: string[] = [];

/** The program without subcommands, its help as on a terminal of 80 columns without colour. */
function bareProgram(): Command {
  return createProgram().configureOutput({
    writeOut: (text) => printed.push(text),
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
}

/**
 * The help of `command` and of every subcommand below it, each under its command line, with the
 * text added before and after it (what `--help` prints; helpInformation() has only the middle).
 */
function helpOf(command: Command, path: string[] = []): string {
  const line = [...path, command.name()].join(' ');
  printed = [];
  command.outputHelp();
  return [
    `=== ${line} --help ===\n${printed.join('')}`,
    ...command.commands.map((sub) => helpOf(sub, [...path, command.name()])),
  ].join('\n');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CLI help', () => {
  it('the program and every subcommand show the help in snapshots/help.txt', async () => {
    const program = await fullProgram();
    // serve and attach are bundles of their own: the overview has a line for each, and their
    // own help comes from their modules, registered as the command itself would.
    const separate = bareProgram();
    for (const module of [serve, attach, jupyterlabBridge]) module.register(separate);
    const own = separate.commands.map((c) => helpOf(c, ['notebook-secrets']));
    const text = [helpOf(program), ...own].join('\n');
    await expect(text).toMatchFileSnapshot('./snapshots/help.txt');
  });

  it('completion prints the scripts in snapshots/completion.txt', async () => {
    let text = '';
    for (const shell of ['bash', 'zsh', 'fish']) {
      const written: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
      const argv = ['node', 'notebook-secrets', 'completion', shell];
      await (await fullProgram(argv)).parseAsync(argv);
      vi.restoreAllMocks();
      text += `=== completion ${shell} ===\n${written.join('')}`;
    }
    await expect(text).toMatchFileSnapshot('./snapshots/completion.txt');
  });
});
