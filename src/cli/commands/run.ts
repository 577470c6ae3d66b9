/**
 * `notebook-secrets run -- CMD`: runs a command with secrets as environment variables. This is the
 * one, explicit, opt-in exception to the rule against putting values in env vars (as `doppler run`
 * does); the extension never does it for kernels.
 */
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { assertValidName } from '../../core/validation';
import { action, CliError, openSession, type GlobalOptions } from '../client/session';
import { resolveAll } from '../client/resolveAll';

interface RunOptions extends GlobalOptions {
  only?: string;
  scope?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run a command with your secrets as environment variables (explicit opt-in)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--only <names>', 'comma-separated names to pass (default: every secret you can see)')
    .option('--scope <scope>', 'only secrets of this scope kind or scope key')
    .option('--project <id>', 'the active project (default: the saved one)')
    .option('--server <url>', 'server URL (default: the saved one)')
    .action(
      action(async (argv: string[], options: RunOptions) => {
        if (argv.length === 0) throw new CliError('Give the command to run after --.');
        const only = options.only
          ?.split(',')
          .map((n) => n.trim())
          .filter(Boolean);
        for (const name of only ?? []) assertValidName(name);
        const session = openSession(options);
        const secrets = await resolveAll(session, only, options.scope);
        const env: NodeJS.ProcessEnv = { ...process.env };
        delete env.NOTEBOOK_SECRETS_TOKEN;
        for (const s of secrets) env[s.name] = s.value;
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
        const forward = (signal: NodeJS.Signals): void => {
          child.kill(signal);
        };
        process.on('SIGINT', forward);
        process.on('SIGTERM', forward);
        const code = await new Promise<number>((resolve, reject) => {
          child.on('error', (error: NodeJS.ErrnoException) =>
            reject(
              new CliError(
                `Could not run ${argv[0]}: ${error.code ?? error.message}.`,
                127,
                'spawn_failed',
              ),
            ),
          );
          child.on('exit', (status, signal) =>
            resolve(status ?? (signal ? 128 + signalNumber(signal) : 1)),
          );
        });
        process.off('SIGINT', forward);
        process.off('SIGTERM', forward);
        process.exitCode = code;
      }),
    );
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 1;
}
