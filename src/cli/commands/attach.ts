/**
 * `notebook-secrets attach --jupyter URL --token T`: get_secret for people outside VS Code.
 * Connects to a Jupyter server (e.g. JupyterLab), injects the helper into its kernels (running
 * ones, new ones, restarted ones) and answers their in-band requests: from the team server when
 * signed in, else from the local store in the OS keychain (or, for tests and throwaway set-ups,
 * a plaintext --secrets file or --from-env variables). Reads from the server or the keychain need
 * consent: --allow/--allow-all, or a question on attach's terminal.
 * Runs until interrupted; never shuts a kernel down.
 *
 * `run(options, io)` logs through the io and reads its environment; it waits for SIGINT or
 * SIGTERM and exits the process itself, and asks consent on the process's terminal (stdin and
 * stderr as streams), which no io stands for.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import { loadHelperSource } from '../../broker/helperSource';
import { displayText } from '../../core/displayText';
import { describeError } from '../../broker/describeError';
import { JupyterAttachment } from '../../broker/jupyterAttachment';
import { KernelSessions } from '../../broker/kernelSessions';
import { SecretRequestHandler, type ClientWording } from '../../broker/requestHandler';
import type { ConsentPolicy } from '../../broker/consent';
import type { BrokerLog, SecretSource } from '../../broker/secretSource';
import { StaticSecretSource } from '../../broker/staticSource';
import { KernelSetupHandler } from '../../broker/kernelSetup';
import type { KernelSession } from '../../broker/kernelSessions';
import { FORM_LABELS, type PlatformForm } from '../../core/secretReads';
import {
  attachConsent,
  openServingStore,
  parseAllowList,
  terminalQuestions,
  type TerminalQuestion,
} from '../client/attachSources';
import { parseNameList, undecidedNote, withFlags } from '../client/notebookChoiceFlags';
import { parseDotenv } from '../client/dotenv';
import { processIo, type CliIo } from '../client/io';
import { KeychainUnavailableError } from '../client/localKeychainStore';
import { projectOption, serverOption } from '../options';

/** How long a stop waits for the Jupyter server to close our websockets. */
const SHUTDOWN_GRACE_MS = 800;

export interface AttachOptions {
  jupyter: string;
  token?: string;
  secrets?: string;
  fromEnv?: string;
  kernel?: string[];
  verbose?: boolean;
  insecureHttp?: boolean;
  /** Names every kernel may read without asking (`--allow A,B`). */
  allow?: string[];
  allowAll?: boolean;
  /** false with `--no-redact-outputs`: served values show in the kernels' outputs. */
  redactOutputs?: boolean;
  /** The active project for the team server (default: the saved one). */
  project?: string;
  server?: string;
  /** `--platform-calls`: serve other platforms' secret calls in every kernel. */
  platformCalls?: boolean;
  /** `--environment A,B`: these names in every kernel's environment. */
  environment?: string[];
}

/** What attach serves from, and how it asks for consent (the command builds it; tests too). */
export interface AttachSetup {
  source: SecretSource;
  /** Absent: no consent asked (a plaintext file or variables the user handed over). */
  consent?: ConsentPolicy;
  /** Where the values come from, for the first log line. */
  describe: string;
  wording: ClientWording;
  /** attach's terminal, where it asks whether to serve other platforms' calls. */
  questions?: TerminalQuestion;
}

export function register(program: Command): void {
  program
    .command('attach')
    .description(
      'Enable get_secret in the kernels of a Jupyter server, answered from the team server or the OS keychain',
    )
    .requiredOption('--jupyter <url>', 'Jupyter server URL, e.g. http://127.0.0.1:8888/')
    .option('--token <token>', 'Jupyter server token (default: $JUPYTER_TOKEN)')
    .option(
      '--secrets <file>',
      'for tests and throwaway set-ups: serve a plaintext JSON object of NAME: value, or a .env file (the values sit in plaintext)',
    )
    .option(
      '--from-env <prefix>',
      'for tests and throwaway set-ups: serve environment variables PREFIX<NAME> as secret NAME (the values sit in plaintext)',
    )
    .option(
      '--allow <names...>',
      'let every kernel read these names (comma-separated) without asking',
    )
    .option(
      '--allow-all',
      'let every kernel read every secret you can read, without asking (any code on the Jupyter server can then read them)',
    )
    .addOption(projectOption('the active project on the team server (default: the saved one)'))
    .addOption(serverOption('team server URL (default: the saved one)'))
    .option(
      '--platform-calls',
      "serve notebooks' Colab, Kaggle, Databricks, SingleStore and Hopsworks secret calls unchanged in every kernel (a notebook's metadata can ask for it too; else attach asks on its terminal)",
    )
    .option(
      '--environment <names...>',
      "put these secrets (comma-separated) in every kernel's os.environ as it starts, besides those its notebook's metadata lists; asked for like any read",
    )
    .option('--kernel <id...>', 'only these kernel ids (default: every kernel, now and later)')
    .option(
      '--no-redact-outputs',
      "leave served values in the kernels' outputs (by default each shows as [secret NAME])",
    )
    .option('--verbose', 'log each request (names only, never values)')
    .option(
      '--insecure-http',
      'allow plain http:// to a Jupyter server on another machine (token and values unencrypted)',
    )
    .action((options: AttachOptions) => run(options, processIo()));
}

/** Attaches until SIGINT or SIGTERM, then detaches (the kernels keep running) and exits. */
export async function run(options: AttachOptions, io: CliIo): Promise<void> {
  // @jupyterlab/services reports each kernel connection with console.debug on stdout; the
  // CLI's own log (stderr) says what matters, and --verbose shows the rest there.
  console.debug = options.verbose
    ? (...args) => io.stderr(`${displayText(format(...args), 2000)}\n`)
    : () => undefined;
  const log = stderrLog(Boolean(options.verbose), io);
  // Listen before attaching: a kernel may be reported enabled (and the user press Ctrl-C)
  // while the other kernels are still being set up.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let handle: JupyterAttachment;
  try {
    handle = await attach(options, log, undefined, io.env);
  } catch (error) {
    io.stderr(`notebook-secrets: ${displayText((error as Error).message, 2000)}\n`);
    process.exit(2);
  }
  const signal = await stopSignal;
  const started = Date.now();
  const total = handle.kernelIds.length;
  const unclosed = await handle.close(SHUTDOWN_GRACE_MS);
  log.info(
    `Stopped on ${signal} in ${Date.now() - started} ms: detached from ${total} kernel(s), which keep running.` +
      (unclosed ? ` ${unclosed} connection(s) did not close in time.` : ''),
  );
  // Nothing left to wait for: HTTP keep-alive sockets and the like must not delay the exit.
  process.exit(0);
}

/** Starts attaching; resolves once every running kernel was found. For the command and tests. */
export async function attach(
  options: AttachOptions,
  log: BrokerLog,
  source?: SecretSource,
  env: NodeJS.ProcessEnv = process.env,
): Promise<JupyterAttachment> {
  const token = options.token ?? env.JUPYTER_TOKEN ?? '';
  let url: URL;
  try {
    url = new URL(options.jupyter);
  } catch {
    throw new Error(
      `--jupyter must be a URL like http://127.0.0.1:8888/, not '${options.jupyter}'.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('--jupyter must be an http:// or https:// URL.');
  }
  const setup = source
    ? { source, describe: '', wording: attachWording(options) }
    : attachSetup(options, processTerminal(), env);
  const store = setup.source;
  const sessions = new KernelSessions();
  const handler = new SecretRequestHandler({
    source: store,
    log,
    wording: setup.wording,
    ...(setup.consent && { consent: setup.consent }),
  });
  const flags = {
    ...(options.platformCalls && { platformCalls: true }),
    environment: parseNameList(options.environment, '--environment'),
  };
  const questions = 'questions' in setup ? setup.questions : undefined;
  const kernelSetup = new KernelSetupHandler({
    choices: {
      choices: async (session) => withFlags(await attachment.notebookChoices(session), flags),
      ...(questions && { askServe: servingQuestion(questions) }),
    },
    secrets: handler,
    log,
    undecided: undecidedNote('`notebook-secrets attach`'),
    ...(setup.consent && { consent: setup.consent }),
  });
  const only = options.kernel ? new Set(options.kernel) : undefined;
  const attachment: JupyterAttachment = new JupyterAttachment({
    setup: kernelSetup,
    baseUrl: url.toString(),
    token,
    allowInsecureHttp: options.insecureHttp === true,
    insecureOptIn: '--insecure-http',
    helperSource: loadHelperSource(),
    sessions,
    handler,
    log,
    redactOutputs: () => options.redactOutputs !== false,
    ...(only ? { kernelFilter: (model) => only.has(model.id) } : {}),
    ...(setup.consent && {
      onSessionEnded: (id: string) => setup.consent?.forgetSession(id),
    }),
  });
  try {
    await attachment.start();
  } catch (error) {
    attachment.dispose();
    const why = describeError(error);
    throw new Error(
      `Could not connect to the Jupyter server at ${url.origin}${url.pathname}: ${why}. Check the URL and the token (--token or $JUPYTER_TOKEN).`,
      { cause: error },
    );
  }
  const names = store instanceof StaticSecretSource ? store.names : [];
  log.info(
    `Attached to ${url.origin}${url.pathname} (${attachment.kernelIds.length} kernel(s) now; new ones as they start). ` +
      (setup.describe
        ? setup.describe
        : names.length
          ? `Serving ${names.length} secret(s): ${names.join(', ')}.`
          : 'No secrets to serve.') +
      ' Press Ctrl+C to stop.',
  );
  return attachment;
}

/**
 * A plaintext --secrets file or --from-env variables when given (served without asking: the user
 * handed over each value); else the team server when signed in, else the OS keychain, both with
 * consent.
 */
export function attachSetup(
  options: AttachOptions,
  terminal: AttachTerminal | undefined = processTerminal(),
  env: NodeJS.ProcessEnv = process.env,
): AttachSetup {
  if (options.secrets || options.fromEnv) {
    return { source: loadPlaintextSource(options), describe: '', wording: attachWording(options) };
  }
  const allow = parseAllowList(options.allow);
  let serving;
  try {
    serving = openServingStore(options, env);
  } catch (error) {
    if (error instanceof KeychainUnavailableError) {
      throw new Error(
        `${error.message} (For a test, --secrets FILE (JSON or .env) or --from-env PREFIX serve plaintext values.)`,
        { cause: error },
      );
    }
    throw error;
  }
  const questions = terminal && terminalQuestions(terminal);
  const consent = attachConsent({
    allow,
    ...(options.allowAll && { allowAll: true }),
    ...(terminal && { terminal }),
    ...(questions && { questions }),
  });
  const how = options.allowAll
    ? 'Every kernel may read every secret (--allow-all).'
    : `${allow.length ? `Allowed without asking: ${allow.join(', ')}. ` : ''}${
        terminal
          ? 'Other names are asked for here.'
          : 'Other names are denied (no terminal to ask on; use --allow).'
      }`;
  const attach = '`notebook-secrets attach`';
  const wording: ClientWording = {
    log: `the output of ${attach}`,
    accessDenied: (name) =>
      terminal
        ? `Access to '${name}' was denied on the terminal of ${attach}. To allow it, restart the kernel and answer [o]nce or [a]lways, or run attach with --allow ${name}; then call get_secret again.`
        : `${attach} has no terminal to ask on and '${name}' is not in its --allow list. To allow it, restart attach with --allow ${name} (or --allow-all) and call get_secret again.`,
    addSecret: serving.addSecret,
  };
  return {
    source: serving.store.source,
    consent,
    wording,
    describe: `${serving.describe} ${how}`,
    ...(questions && { questions }),
  };
}

/**
 * "Serve them from your secrets?" on attach's terminal, for a notebook that reads keys another
 * platform's way and has not chosen; the answer holds for that notebook while attach runs.
 */
function servingQuestion(
  ask: TerminalQuestion,
): (session: KernelSession, platforms: PlatformForm[]) => Promise<boolean | undefined> {
  const answers = new Map<string, Promise<boolean | undefined>>();
  return (session, platforms) => {
    let answer = answers.get(session.notebook);
    if (!answer) {
      const ways = platforms.map((p) => FORM_LABELS[p]).join(' and ');
      answer = ask(
        `Kernel ${session.label} reads keys the ${ways} way; serve them from your secrets (each asked for as with get_secret)? [y]es or [n]o: `,
      ).then((line) => (line === undefined ? undefined : /^\s*y(es)?\s*$/i.test(line)));
      answers.set(session.notebook, answer);
    }
    return answer;
  };
}

/** Where consent questions are asked: attach's terminal, when stdin and stderr are one. */
export interface AttachTerminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

function processTerminal(): AttachTerminal | undefined {
  return process.stdin.isTTY && process.stderr.isTTY
    ? { input: process.stdin, output: process.stderr }
    : undefined;
}

function loadPlaintextSource(options: AttachOptions): SecretSource {
  if (options.secrets && options.fromEnv) {
    throw new Error('Use either --secrets FILE or --from-env PREFIX, not both.');
  }
  if (options.fromEnv) return StaticSecretSource.fromEnv(options.fromEnv);
  let text: string;
  try {
    text = readFileSync(options.secrets!, 'utf8');
  } catch {
    throw new Error(`Cannot read the secrets file ${options.secrets}.`);
  }
  if (/^\s*\{/.test(text)) return StaticSecretSource.fromJson(text);
  return StaticSecretSource.fromPairs(parseDotenv(text).map((e) => [e.name, e.value]));
}

/** Tells the user of attach how to add a secret to what this process serves. */
export function attachWording(options: AttachOptions): ClientWording {
  const attach = '`notebook-secrets attach`';
  return {
    addSecret: options.fromEnv
      ? (name) =>
          `Set ${options.fromEnv}${name} in the environment of ${attach}, restart it and call get_secret again.`
      : (_name) =>
          `Add it to ${options.secrets ?? 'the secrets file'}, restart ${attach} and call get_secret again.`,
    log: `the output of ${attach}`,
  };
}

/** attach's log on its terminal: one line each, with no control character from a server in it. */
function stderrLog(verbose: boolean, io: Pick<CliIo, 'stderr'>): BrokerLog {
  const write = (level: string, m: string) => io.stderr(`[${level}] ${displayText(m, 2000)}\n`);
  return {
    debug: (m) => verbose && write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
