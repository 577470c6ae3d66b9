/**
 * `notebook-secrets completion bash|zsh|fish`: a completion script for the shell, generated from
 * the command table itself (subcommands, their options and descriptions), so it never drifts.
 */
import type { Command } from 'commander';
import { action, type CliIo } from '../client/io';
import { CliError } from '../client/session';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface Entry {
  name: string;
  description: string;
  options: { flag: string; description: string; takesValue: boolean }[];
}

function entries(program: Command): Entry[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description().split('\n')[0]!,
    options: [
      ...c.options.flatMap((o) =>
        [o.long, o.short]
          .filter((f): f is string => Boolean(f))
          .map((flag) => ({
            flag,
            description: o.description,
            takesValue: o.required || o.optional,
          })),
      ),
      { flag: '--help', description: 'display help for command', takesValue: false },
    ],
  }));
}

/** Single-quoted for sh/zsh/fish: ' becomes '\'' . */
function quote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

function bash(all: Entry[]): string {
  const cases = all
    .map((e) => `    ${e.name}) opts=${quote(e.options.map((o) => o.flag).join(' '))} ;;`)
    .join('\n');
  return `# bash completion for notebook-secrets: eval "$(notebook-secrets completion bash)"
_notebook_secrets() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${quote(all.map((e) => e.name).join(' ') + ' --help --version')} -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _notebook_secrets notebook-secrets
`;
}

function zsh(all: Entry[]): string {
  const esc = (t: string) => t.replace(/[[\]:\\]/g, '\\$&');
  const commands = all.map((e) => `    ${quote(`${e.name}:${esc(e.description)}`)}`).join('\n');
  const cases = all
    .map(
      (e) =>
        `    ${e.name}) _arguments ${e.options
          .map((o) => quote(`${o.flag}[${esc(o.description)}]${o.takesValue ? ':value:' : ''}`))
          .join(' ')} '*:file:_files' ;;`,
    )
    .join('\n');
  return `#compdef notebook-secrets
# zsh completion for notebook-secrets: eval "$(notebook-secrets completion zsh)"
_notebook_secrets() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
${cases}
  esac
}
compdef _notebook_secrets notebook-secrets
`;
}

function fish(all: Entry[]): string {
  const lines = [
    '# fish completion for notebook-secrets: notebook-secrets completion fish | source',
  ];
  lines.push('complete -c notebook-secrets -f');
  for (const e of all) {
    lines.push(
      `complete -c notebook-secrets -n __fish_use_subcommand -a ${e.name} -d ${quote(e.description)}`,
    );
    for (const o of e.options) {
      const flag = o.flag.startsWith('--') ? `-l ${o.flag.slice(2)}` : `-s ${o.flag.slice(1)}`;
      lines.push(
        `complete -c notebook-secrets -n '__fish_seen_subcommand_from ${e.name}' ${flag}${o.takesValue ? ' -r -F' : ''} -d ${quote(o.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      `
Install:
  bash: echo 'eval "$(notebook-secrets completion bash)"' >> ~/.bashrc
  zsh:  echo 'eval "$(notebook-secrets completion zsh)"' >> ~/.zshrc   (after compinit)
  fish: notebook-secrets completion fish > ~/.config/fish/completions/notebook-secrets.fish`,
    )
    .action(action((io, shell: string) => run(shell, program, io)));
}

/** Prints the completion script of `shell` for the commands of `program`. */
export async function run(shell: string, program: Command, io: CliIo): Promise<void> {
  if (!SHELLS.includes(shell as Shell))
    throw new CliError(`The shell '${shell}' is not one of ${SHELLS.join(', ')}.`);
  const all = entries(program);
  io.stdout(shell === 'bash' ? bash(all) : shell === 'zsh' ? zsh(all) : fish(all));
  await Promise.resolve();
}
