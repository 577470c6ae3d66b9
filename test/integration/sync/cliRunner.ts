/** Runs the built CLI as a user would: a child process with its own home and config dir. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCli = (
  user: string,
  args: string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
) => Promise<CliResult>;

/** Each user gets `<home>/<user>` as HOME and `<home>/<user>/config` as config dir (no keyring). */
export function cliEnv(home: string, user: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: join(home, user),
    NOTEBOOK_SECRETS_CONFIG_DIR: join(home, user, 'config'),
    NOTEBOOK_SECRETS_KEYRING: '0',
  };
}

export function cliRunner(cli: string, home: string, transcript: string[] = []): RunCli {
  return (user, args, input, env = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [cli, ...args],
        { env: { ...cliEnv(home, user), ...env }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          transcript.push(`${user}$ ${args.join(' ')} -> ${code}\n${stdout}${stderr}`);
          resolve({ code, stdout, stderr });
        },
      );
      if (input !== undefined) child.stdin!.end(input);
      else child.stdin!.end();
    });
}
