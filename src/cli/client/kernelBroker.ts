/**
 * The broker of `notebook-secrets run --kernels -- CMD`: the broker the extension runs, for the
 * lifetime of one command. It listens on a Unix socket in a private directory (0700) that also
 * holds the kernel helper and its start-up file, and hands the command only what the helper needs
 * to find it: the directory on PYTHONPATH, the start-up file in PYTHONSTARTUP (IPython kernels
 * run it as they start), the endpoint and a token, in environment variables. Never a value.
 */
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { chainStartup, helperSourcePath, STARTUP_FILE } from '../../broker/helperSource';
import { KernelSetupHandler } from '../../broker/kernelSetup';
import type { NotebookChoices } from '../../core/notebookChoices';
import { undecidedNote } from './notebookChoiceFlags';
import { KernelSessions } from '../../broker/kernelSessions';
import { SecretRequestHandler, type ClientWording } from '../../broker/requestHandler';
import type { BrokerLog, SecretSource } from '../../broker/secretSource';
import { BrokerServer } from '../../broker/server';
import { attachConsent, openServingStore, type ServingCommand } from './attachSources';
import { KeychainUnavailableError } from './localKeychainStore';
import { CliError, EXIT, type GlobalOptions } from './session';

/** Where the helper finds the broker; python/notebook_secrets.py reads the same names. */
export const BROKER_ENDPOINT_ENV = 'NOTEBOOK_SECRETS_BROKER';
export const BROKER_TOKEN_ENV = 'NOTEBOOK_SECRETS_BROKER_TOKEN';

/** How the server's audit log names the reads of `run --kernels`. */
export const RUN_KERNELS_COMMAND: ServingCommand = {
  userAgent: 'notebook-secrets-run',
  name: '`notebook-secrets run --kernels`',
  restart: 'run the command again',
};

export interface KernelBrokerOptions extends GlobalOptions {
  /** The command, for log lines ("get_secret('X') for papermill: served"). */
  command: string;
  /** Only these names are served; others are refused (`--only`). Absent: every name. */
  only?: readonly string[];
  log: BrokerLog;
  /** What the command's kernels serve besides get_secret: other platforms' calls, environment. */
  choices?: NotebookChoices;
}

export interface KernelBroker {
  /** `unix:/…/broker.sock` or `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Where the values come from, for the first log line. */
  describe: string;
  /** The environment of the command: `base` with PYTHONPATH, the endpoint and the token. */
  childEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Stops the broker and removes the private directory (socket and helper). */
  stop(): Promise<void>;
}

/** Opens the source (team server when signed in, else the OS keychain) and starts the broker. */
export async function startKernelBroker(
  options: KernelBrokerOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KernelBroker> {
  const { source, describe, wording } = openSource(options, env);
  const helper = helperSourcePath();
  const only = options.only ? new Set(options.only) : undefined;
  const sessions = new KernelSessions();
  const program = basename(options.command);
  const { token } = sessions.issue(`run:${program}`, program);
  // The user consented by naming --kernels; --only narrows what the command may read (with no
  // terminal to ask on, attach's policy denies every other name).
  const consent = only && attachConsent({ allow: [...only] });
  const handler = new SecretRequestHandler({
    source,
    log: options.log,
    wording,
    ...(consent && { consent }),
  });
  const choices = options.choices ?? { environment: [] };
  const setup = new KernelSetupHandler({
    choices: { choices: () => choices },
    secrets: handler,
    log: options.log,
    undecided: undecidedNote('`notebook-secrets run --kernels`'),
    ...(consent && { consent }),
  });
  const dir = await mkdtemp(join(tmpdir(), 'nbsec-run-'));
  await chmod(dir, 0o700);
  const broker = new BrokerServer({
    sessions,
    handler,
    setup,
    log: options.log,
    socketParent: dir,
  });
  try {
    await copyFile(helper, join(dir, 'notebook_secrets.py'));
    await copyFile(join(dirname(helper), STARTUP_FILE), join(dir, STARTUP_FILE));
    await broker.start();
  } catch (error) {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: broker.endpoint,
    describe:
      describe +
      (only ? ` Only ${[...only].join(', ')} may be read (--only).` : ' Any name you can read.'),
    childEnv(base) {
      const child: NodeJS.ProcessEnv = { ...base };
      // The CLI's own sign-in is not the command's.
      delete child.NOTEBOOK_SECRETS_TOKEN;
      child.PYTHONPATH = base.PYTHONPATH ? `${dir}${delimiter}${base.PYTHONPATH}` : dir;
      child[BROKER_ENDPOINT_ENV] = broker.endpoint;
      child[BROKER_TOKEN_ENV] = token;
      // IPython kernels the command starts install the helper's hooks as they start.
      chainStartup(child, dir);
      return child;
    },
    stop() {
      stopped ??= (async () => {
        sessions.revoke(token);
        await broker.stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function openSource(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
): { source: SecretSource; describe: string; wording: ClientWording } {
  let serving;
  try {
    serving = openServingStore(options, env, RUN_KERNELS_COMMAND);
  } catch (error) {
    if (error instanceof KeychainUnavailableError) {
      throw new CliError(error.message, EXIT.unauthorized, 'unauthorized');
    }
    throw error;
  }
  const run = '`notebook-secrets run --kernels`';
  return {
    source: serving.store.source,
    describe: serving.describe,
    wording: {
      log: `the output of ${run}`,
      addSecret: serving.addSecret,
      accessDenied: (name) =>
        `${run} was given --only without '${name}'. Add it to --only and run the command again.`,
    },
  };
}
