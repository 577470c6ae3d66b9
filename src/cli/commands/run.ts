/**
 * `notebook-secrets run -- CMD`: runs a command with secrets as environment variables. This is the
 * one, explicit, opt-in exception to the rule against putting values in env vars (as `doppler run`
 * does); the extension never does it for kernels.
 *
 * `run --kernels -- CMD` puts no value in the environment: it runs a broker for the command's
 * lifetime, so `get_secret` works in the command's Python and in the kernels it starts (papermill,
 * `jupyter nbconvert --execute`), each value read when a cell asks for it.
 *
 * Its own output, errors, environment and exit code go through the io; the command it runs
 * inherits the process's stdin, stdout and stderr and gets its signals, which no io stands for.
 */
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { assertValidName } from '../../core/validation';
import type { BrokerLog } from '../../broker/secretSource';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, type GlobalOptions } from '../client/session';
import { notebooksInCommand, parseNameList, withFlags } from '../client/notebookChoiceFlags';
import { resolveAll } from '../client/resolveAll';
import { projectOption, scopeOption, serverOption } from '../options';

export interface RunOptions extends GlobalOptions {
  only?: string;
  scope?: string;
  kernels?: boolean;
  verbose?: boolean;
  platformCalls?: boolean;
  environment?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'Run a command with your secrets as environment variables (explicit opt-in), or with get_secret in its Python and notebook kernels (--kernels)',
    )
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--only <names>', 'comma-separated names to pass (default: every secret you can see)')
    .addOption(scopeOption('filter'))
    .option(
      '--kernels',
      'no values in the environment: get_secret works in the command and the kernels it starts (papermill, jupyter nbconvert --execute, python script.py), from the team server or the OS keychain. Naming it lets this command read every secret you can read; with --only, only those names',
    )
    .option(
      '--platform-calls',
      "with --kernels: serve notebooks' Colab, Kaggle, Databricks, SingleStore and Hopsworks secret calls unchanged (as a notebook's metadata can ask)",
    )
    .option(
      '--environment <names>',
      "with --kernels: comma-separated names to put in the kernels' os.environ as they start (besides those the notebooks' metadata lists)",
    )
    .option('--verbose', 'with --kernels: log each get_secret call (names only, never values)')
    .addOption(projectOption())
    .addOption(serverOption())
    .addHelpText(
      'after',
      `
Examples:
  notebook-secrets run --only DB_USER,DB_PASS -- ./deploy.sh
  notebook-secrets run --kernels -- papermill in.ipynb out.ipynb
  notebook-secrets run --kernels -- jupyter nbconvert --to notebook --execute report.ipynb
  notebook-secrets run --kernels --only OPENAI_API_KEY -- python3 script.py`,
    )
    .action(action((io, argv: string[], options: RunOptions) => run(argv, options, io)));
}

/** Runs `argv` with the secrets in its environment (or --kernels); exits with its exit code. */
export async function run(argv: string[], options: RunOptions, io: CliIo): Promise<void> {
  if (argv.length === 0) throw new CliError('Give the command to run after --.');
  const only = options.only
    ?.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of only ?? []) assertValidName(name);
  if (options.kernels) {
    await runWithKernels(argv, options, only, io);
    return;
  }
  if (options.platformCalls || options.environment !== undefined) {
    throw new CliError(
      '--platform-calls and --environment apply with --kernels; without it every secret you name is already in the environment of the command.',
      EXIT.usage,
      'invalid_input',
    );
  }
  const session = io.openSession(options);
  const secrets = await resolveAll(session, only, options.scope);
  const env: NodeJS.ProcessEnv = { ...io.env };
  delete env.NOTEBOOK_SECRETS_TOKEN;
  for (const s of secrets) env[s.name] = s.value;
  io.setExitCode(await runChild(argv, env));
}

/** `run --kernels`: a broker for the command's lifetime; the command gets its endpoint only. */
async function runWithKernels(
  argv: string[],
  options: RunOptions,
  only: string[] | undefined,
  io: CliIo,
): Promise<void> {
  if (options.scope !== undefined) {
    throw new CliError(
      "--scope does not apply with --kernels: get_secret resolves each name by precedence, or pick a scope in the call: get_secret('NAME', scope='team').",
      EXIT.usage,
      'invalid_input',
    );
  }
  let environment: string[];
  try {
    environment = parseNameList(options.environment ? [options.environment] : [], '--environment');
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage, 'invalid_input');
  }
  // The notebooks the command names say what their kernels need; the flags add to it.
  const choices = withFlags(notebooksInCommand(argv), {
    ...(options.platformCalls && { platformCalls: true }),
    environment,
  });
  const log = stderrLog(Boolean(options.verbose), io);
  // A signal while the broker starts: stop it and run nothing, rather than die and leave its
  // folder behind. (An object, so the type checker does not narrow it to undefined.)
  const early: { signal?: NodeJS.Signals } = {};
  const record = (signal: NodeJS.Signals): void => {
    early.signal ??= signal;
  };
  process.on('SIGINT', record);
  process.on('SIGTERM', record);
  try {
    // Loaded only here (esbuild keeps it lazy): the other commands do not pay for the broker.
    const { startKernelBroker } = await import('../client/kernelBroker');
    const broker = await startKernelBroker(
      {
        command: argv[0]!,
        log,
        choices,
        ...(only && { only }),
        ...(options.project !== undefined && { project: options.project }),
        ...(options.server !== undefined && { server: options.server }),
      },
      io.env,
    );
    try {
      if (early.signal) {
        io.setExitCode(128 + signalNumber(early.signal));
        return;
      }
      log.info(broker.describe);
      io.setExitCode(await runChild(argv, broker.childEnv(io.env)));
    } finally {
      await broker.stop();
    }
  } finally {
    process.off('SIGINT', record);
    process.off('SIGTERM', record);
  }
}

/** Runs the command with stdio inherited and signals forwarded; resolves with its exit code. */
async function runChild(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
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
  return code;
}

/** The broker's log on stderr, among the command's own output: names only, never values. */
function stderrLog(verbose: boolean, io: CliIo): BrokerLog {
  const write = (level: string, m: string): void => {
    io.stderr(`notebook-secrets: [${level}] ${m}\n`);
  };
  return {
    debug: (m) => verbose && write('debug', m),
    info: (m) => verbose && write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
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
