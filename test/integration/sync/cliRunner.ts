/** Runs the built CLI as a user would: a child process with its own home and config dir. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { testCacheHome } from '../cliCache';

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

/**
 * Runs the built CLI once with `env` (and PATH), `input` on stdin; a non-zero exit is a result.
 * Its code cache goes to `env`'s HOME, else to out/test-cache (../cliCache.ts), never the tester's.
 */
export function execCli(
  cli: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string },
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      {
        env: {
          PATH: process.env.PATH,
          ...(options.env.HOME === undefined && { XDG_CACHE_HOME: testCacheHome() }),
          ...options.env,
        },
        timeout: options.timeoutMs ?? 30_000,
        ...(options.cwd && { cwd: options.cwd }),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}

export function cliRunner(cli: string, home: string, transcript: string[] = []): RunCli {
  return async (user, args, input, env = {}) => {
    const result = await execCli(cli, args, {
      env: { ...cliEnv(home, user), ...env },
      ...(input !== undefined && { input }),
    });
    transcript.push(
      `${user}$ ${args.join(' ')} -> ${result.code}\n${result.stdout}${result.stderr}`,
    );
    return result;
  };
}
