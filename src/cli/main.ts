/**
 * The `notebook-secrets` command. This file is only the table of subcommands: each lives in
 * src/cli/commands/<name>.ts and exports `register(program)`. Add one line per subcommand.
 *
 * `serve` and `attach` are bundles of their own (dist/cli-serve.js, dist/cli-attach.js; see
 * esbuild.mjs): the server with its database, and the Jupyter client, load only for the command
 * that needs them, so the other commands start fast.
 */
import { Command, CommanderError } from 'commander';
import { join } from 'node:path';
import * as admin from './commands/admin';
import * as login from './commands/login';
import * as logout from './commands/logout';
import * as whoami from './commands/whoami';
import * as list from './commands/list';
import * as get from './commands/get';
import * as set from './commands/set';
import * as deleteCmd from './commands/delete';
import * as share from './commands/share';
import * as unshare from './commands/unshare';
import * as history from './commands/history';
import * as restore from './commands/restore';
import * as rename from './commands/rename';
import * as audit from './commands/audit';
import * as projects from './commands/projects';
import * as completion from './commands/completion';
import * as run from './commands/run';
import * as importCmd from './commands/import';
import * as exportCmd from './commands/export';
import * as scan from './commands/scan';
import * as local from './commands/local';
import { EXIT } from './client/session';

interface Subcommand {
  register(program: Command): void;
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

const subcommands: Subcommand[] = [
  serve, // notebook-secrets serve: the team server
  admin, // notebook-secrets admin …: users, teams, projects, members, tokens
  login, // notebook-secrets login/logout/whoami: sign in to a team server (sync client)
  logout,
  whoami,
  projects, // projects / use PROJECT: the active project
  list, // list/get/set/delete: secrets on the team server
  get,
  set,
  deleteCmd,
  share, // share/unshare/history/restore: access and versions
  unshare,
  history,
  restore,
  rename, // rename NAME NEW_NAME: same id, versions and sharing
  audit, // audit [NAME]: the caller's view of the audit log
  run, // run -- CMD: secrets as env vars for one command (explicit opt-in)
  importCmd, // import FILE.env / export --format dotenv|json
  exportCmd,
  completion, // completion bash|zsh|fish
  attach, // attach --jupyter URL: get_secret in a Jupyter server's kernels, outside VS Code
  scan, // scan PATH…: hard-coded keys in notebooks and files
  local, // local set/get/list/delete: secrets in the OS keychain, without a team server
];

const program = new Command('notebook-secrets')
  .description('Keep API keys, passwords and key files out of your notebooks.')
  .version('0.1.0')
  .showHelpAfterError()
  // Usage errors (unknown command or option, missing argument) exit 2, as docs/cli.md says.
  .exitOverride();
for (const subcommand of subcommands) subcommand.register(program);

// Not signed in, set/get/list/delete use the local store in the OS keychain.
program.parseAsync(local.routeToLocal(process.argv)).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  process.stderr.write(`notebook-secrets: ${(error as Error).message}\n`);
  process.exitCode = EXIT.error;
});
