/**
 * `notebook-secrets attach --jupyter URL --token T`: get_secret for people outside VS Code.
 * Connects to a Jupyter server (e.g. JupyterLab), injects the helper into its kernels (running
 * ones, new ones, restarted ones) and answers their in-band requests from the store it is given.
 * Runs until interrupted; never shuts a kernel down.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { loadHelperSource } from '../../broker/helperSource';
import { describeError, JupyterAttachment } from '../../broker/jupyterAttachment';
import { KernelSessions } from '../../broker/kernelSessions';
import { SecretRequestHandler, type ClientWording } from '../../broker/requestHandler';
import type { BrokerLog, SecretSource } from '../../broker/secretSource';
import { StaticSecretSource } from '../../broker/staticSource';
import { parseDotenv } from '../client/dotenv';

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
}

export function register(program: Command): void {
  program
    .command('attach')
    .description(
      'Enable get_secret in the kernels of a Jupyter server and answer them from a local store',
    )
    .requiredOption('--jupyter <url>', 'Jupyter server URL, e.g. http://127.0.0.1:8888/')
    .option('--token <token>', 'Jupyter server token (default: $JUPYTER_TOKEN)')
    .option('--secrets <file>', 'secrets to serve: a JSON object of NAME: value, or a .env file')
    .option('--from-env <prefix>', 'serve environment variables PREFIX<NAME> as secret NAME')
    .option('--kernel <id...>', 'only these kernel ids (default: every kernel, now and later)')
    .option('--verbose', 'log each request (names only, never values)')
    .option(
      '--insecure-http',
      'allow plain http:// to a Jupyter server on another machine (token and values unencrypted)',
    )
    .action(async (options: AttachOptions) => {
      // @jupyterlab/services reports each kernel connection with console.debug on stdout; the
      // CLI's own log (stderr) says what matters, and --verbose shows the rest there.
      console.debug = options.verbose ? (...args) => console.error(...args) : () => undefined;
      const log = stderrLog(Boolean(options.verbose));
      let handle: JupyterAttachment;
      try {
        handle = await attach(options, log);
      } catch (error) {
        process.stderr.write(`notebook-secrets: ${(error as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const started = Date.now();
      const total = handle.kernelIds.length;
      const unclosed = await handle.close(SHUTDOWN_GRACE_MS);
      log.info(
        `Stopped on ${signal} in ${Date.now() - started} ms: detached from ${total} kernel(s), which keep running.` +
          (unclosed ? ` ${unclosed} connection(s) did not close in time.` : ''),
      );
      // Nothing left to wait for: HTTP keep-alive sockets and the like must not delay the exit.
      process.exit(0);
    });
}

/** Starts attaching; resolves once every running kernel was found. For the command and tests. */
export async function attach(
  options: AttachOptions,
  log: BrokerLog,
  source?: SecretSource,
): Promise<JupyterAttachment> {
  const token = options.token ?? process.env.JUPYTER_TOKEN ?? '';
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
  const store = source ?? loadSource(options);
  const sessions = new KernelSessions();
  const handler = new SecretRequestHandler({ source: store, log, wording: attachWording(options) });
  const only = options.kernel ? new Set(options.kernel) : undefined;
  const attachment = new JupyterAttachment({
    baseUrl: url.toString(),
    token,
    allowInsecureHttp: options.insecureHttp === true,
    insecureOptIn: '--insecure-http',
    helperSource: loadHelperSource(),
    sessions,
    handler,
    log,
    ...(only ? { kernelFilter: (model) => only.has(model.id) } : {}),
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
      (names.length
        ? `Serving ${names.length} secret(s): ${names.join(', ')}.`
        : 'No secrets to serve.') +
      ' Press Ctrl+C to stop.',
  );
  return attachment;
}

function loadSource(options: AttachOptions): SecretSource {
  if (options.secrets && options.fromEnv) {
    throw new Error('Use either --secrets FILE or --from-env PREFIX, not both.');
  }
  if (options.fromEnv) return StaticSecretSource.fromEnv(options.fromEnv);
  if (options.secrets) {
    let text: string;
    try {
      text = readFileSync(options.secrets, 'utf8');
    } catch {
      throw new Error(`Cannot read the secrets file ${options.secrets}.`);
    }
    if (/^\s*\{/.test(text)) return StaticSecretSource.fromJson(text);
    return StaticSecretSource.fromPairs(parseDotenv(text).map((e) => [e.name, e.value]));
  }
  throw new Error(
    'Say where the secrets come from: --secrets FILE (JSON or .env) or --from-env PREFIX. (The team server source comes later.)',
  );
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

function stderrLog(verbose: boolean): BrokerLog {
  const write = (level: string, m: string) => process.stderr.write(`[${level}] ${m}\n`);
  return {
    debug: (m) => verbose && write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
