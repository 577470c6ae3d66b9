/**
 * The `notebook-secrets` command's table of subcommands: each lives in
 * src/cli/commands/<name>.ts and exports `register(program)`. Add one line per subcommand.
 *
 * A run loads only the subcommand it runs (the table's `lazy` entries), so `get` does not pay
 * for building what `admin`, `scan` or `import` need; help, completion and an unknown command
 * load them all. `serve` and `attach` are bundles of their own (dist/cli-serve.js,
 * dist/cli-attach.js; see esbuild.mjs): the server with its database, and the Jupyter client.
 * Kept apart from ./main.ts, which runs on load, so that a test can build the same program.
 */
import { Command } from 'commander';
import { join } from 'node:path';

interface Subcommand {
  register(program: Command): void;
}

interface LazySubcommand {
  /** The command names (and aliases) the module registers. */
  names: readonly string[];
  load(): Promise<Subcommand>;
}

function lazy(names: string | readonly string[], load: () => Promise<Subcommand>): LazySubcommand {
  return { names: typeof names === 'string' ? [names] : names, load };
}

/**
 * A subcommand in a bundle of its own: loaded when it is the command asked for (or its help),
 * else only a line in the overview.
 */
function separateBundle(name: string, bundle: string, description: string): Subcommand {
  return {
    register(program) {
      const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
      if (words[0] === name || (words[0] === 'help' && words[1] === name)) {
        // A path esbuild does not follow: the bundle sits next to this one.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when run
        (require(join(__dirname, bundle)) as Subcommand).register(program);
      } else {
        program.command(name).description(description).allowUnknownOption();
      }
    },
  };
}

const serve = separateBundle(
  'serve',
  'cli-serve.js',
  'Run the team server (PGlite in --data by default; PostgreSQL when DATABASE_URL is set)',
);
const attach = separateBundle(
  'attach',
  'cli-attach.js',
  'Enable get_secret in the kernels of a Jupyter server, answered from the team server or the OS keychain',
);

/** Started by JupyterLab's server extension; hidden from help (see docs/jupyterlab.md). */
const jupyterlabBridge: Subcommand = {
  register(program) {
    if (process.argv[2] !== 'jupyterlab-bridge') return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when run
    (require(join(__dirname, 'cli-jupyterlab.js')) as Subcommand).register(program);
  },
};

const subcommands: (Subcommand | LazySubcommand)[] = [
  serve, // notebook-secrets serve: the team server
  lazy('admin', () => import('./commands/admin')), // admin …: users, teams, projects, members, tokens
  lazy('login', () => import('./commands/login')), // login/logout/whoami: sign in to a team server
  lazy('logout', () => import('./commands/logout')),
  lazy('whoami', () => import('./commands/whoami')),
  lazy(['projects', 'use'], () => import('./commands/projects')), // the active project
  lazy(['list', 'ls'], () => import('./commands/list')), // list/get/set/delete: secrets on the server
  lazy('get', () => import('./commands/get')),
  lazy('set', () => import('./commands/set')),
  lazy(['delete', 'rm'], () => import('./commands/delete')),
  lazy('share', () => import('./commands/share')), // share/unshare/history/restore/rename
  lazy('unshare', () => import('./commands/unshare')),
  lazy('history', () => import('./commands/history')),
  lazy('restore', () => import('./commands/restore')),
  lazy('rename', () => import('./commands/rename')), // same id, versions and sharing
  lazy('audit', () => import('./commands/audit')), // the caller's view of the audit log
  lazy('run', () => import('./commands/run')), // run -- CMD: secrets as env vars for one command
  lazy('import', () => import('./commands/import')), // import FILE.env / export dotenv|json
  lazy('export', () => import('./commands/export')),
  lazy('completion', () => import('./commands/completion')), // completion bash|zsh|fish
  attach, // attach --jupyter URL: get_secret in a Jupyter server's kernels, outside VS Code
  lazy('scan', () => import('./commands/scan')), // scan PATH…: hard-coded keys in files
  lazy('check', () => import('./commands/check')), // check NOTEBOOK…: the secrets notebooks need
  lazy('local', () => import('./commands/local')), // local …: secrets in the OS keychain
  jupyterlabBridge, // jupyterlab-bridge: JupyterLab's Secrets panel and kernels (hidden)
];

/** Which lazy subcommands this run needs: the one named, none for --version, else all. */
function needed(argv: readonly string[]): (names: readonly string[]) => boolean {
  const first = argv[2];
  if (first === '--version' || first === '-V') return () => false;
  const named = first === 'help' ? argv[3] : first;
  if (named === 'serve' || named === 'attach' || named === 'jupyterlab-bridge') return () => false; // bundles of their own
  const known = subcommands.some((s) => 'names' in s && s.names.includes(named ?? ''));
  // Completion reads the whole command table.
  if (!known || named === 'completion') return () => true;
  return (names) => names.includes(named!);
}

/** The program without its subcommands: name, description, version, usage errors. */
export function createProgram(): Command {
  return (
    new Command('notebook-secrets')
      .description('Keep API keys, passwords and key files out of your notebooks.')
      .version('0.1.0')
      .showHelpAfterError()
      // Usage errors (unknown command or option, missing argument) exit 2, as docs/cli.md says.
      .exitOverride()
  );
}

/** Registers the subcommands `argv` needs (all of them for help, completion or an unknown one). */
export async function registerSubcommands(
  program: Command,
  argv: readonly string[],
): Promise<void> {
  const wanted = needed(argv);
  for (const subcommand of subcommands) {
    if (!('names' in subcommand)) subcommand.register(program);
    else if (wanted(subcommand.names)) (await subcommand.load()).register(program);
  }
}
