/**
 * The `notebook-secrets` command. This file is only the table of subcommands: each lives in
 * src/cli/commands/<name>.ts and exports `register(program)`. Add one line per subcommand.
 */
import { Command } from 'commander';
import * as admin from './commands/admin';
import * as serve from './commands/serve';
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
import * as run from './commands/run';
import * as importCmd from './commands/import';
import * as exportCmd from './commands/export';
import * as attach from './commands/attach';
import * as scan from './commands/scan';

interface Subcommand {
  register(program: Command): void;
}

const subcommands: Subcommand[] = [
  serve, // notebook-secrets serve: the team server
  admin, // notebook-secrets admin …: users, teams, projects, members, tokens
  login, // notebook-secrets login/logout/whoami: sign in to a team server (sync client)
  logout,
  whoami,
  list, // list/get/set/delete: secrets on the team server
  get,
  set,
  deleteCmd,
  share, // share/unshare/history: access and versions
  unshare,
  history,
  run, // run -- CMD: secrets as env vars for one command (explicit opt-in)
  importCmd, // import FILE.env / export --format dotenv|json
  exportCmd,
  attach, // attach --jupyter URL: get_secret in a Jupyter server's kernels, outside VS Code
  scan, // scan PATH…: hard-coded keys in notebooks and files
];

const program = new Command('notebook-secrets')
  .description('Keep API keys, passwords and key files out of your notebooks.')
  .version('0.1.0')
  .showHelpAfterError();
for (const subcommand of subcommands) subcommand.register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`notebook-secrets: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
