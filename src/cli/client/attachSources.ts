/**
 * Where `notebook-secrets attach` reads values when it is handed no plaintext file: the team
 * server (signed in with `notebook-secrets login`), else the local store in the OS keychain. And
 * its consent: who may read which name, asked on attach's terminal or given with --allow.
 */
import { createInterface, type Interface } from 'node:readline';
import type { ConsentChoice, ConsentRequest, ConsentState } from '../../broker/consent';
import { ConsentPolicy } from '../../broker/consent';
import { SourceUnavailableError, type SecretSource } from '../../broker/secretSource';
import { displayText } from '../../core/displayText';
import type { Encoding, ScopeKind } from '../../core/model';
import { ApiClient } from '../../sync/client';
import { ApiError, ServerUnreachable } from '../../sync/errors';
import { nodeFetch } from '../../sync/nodeFetch';
import { configDir, TokenStore } from './credentials';
import {
  KeychainUnavailableError,
  LocalKeychainStore,
  osKeychain,
  probeKeychain,
} from './localKeychainStore';
import { parseNameList } from './notebookChoiceFlags';
import { processSessionIo } from './io';
import { CliError, EXIT, openSession, type GlobalOptions } from './session';

/** How the server's audit log names attach's reads. */
export const ATTACH_USER_AGENT = 'notebook-secrets-attach';

/** The command serving kernels, as the server's audit log and the kernel's messages name it. */
export interface ServingCommand {
  userAgent: string;
  /** E.g. "`notebook-secrets attach`". */
  name: string;
  /** What to do once signed in again, e.g. "restart attach and call get_secret again". */
  restart: string;
}

export const ATTACH_COMMAND: ServingCommand = {
  userAgent: ATTACH_USER_AGENT,
  name: '`notebook-secrets attach`',
  restart: 'restart attach and call get_secret again',
};

/**
 * Each request resolved by the team server (one GET /v1/resolve/NAME, audited as a read by this
 * client), with the documented precedence and the active project. No copy is kept: when the
 * server cannot be reached the cell gets SecretsUnavailableError, never an older value.
 */
export class ServerSecretSource implements SecretSource {
  constructor(
    private readonly api: ApiClient,
    readonly server: string,
    readonly project: string | undefined,
    private readonly command: ServingCommand = ATTACH_COMMAND,
  ) {}

  async resolve(
    name: string,
    opts: { scope?: ScopeKind },
  ): Promise<{ value: string; encoding: Encoding } | undefined> {
    try {
      const found = await this.api.resolve(name, {
        ...(this.project && { project: this.project }),
        ...(opts.scope && { scope: opts.scope }),
      });
      return { value: found.value, encoding: found.encoding };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      if (error instanceof ServerUnreachable) {
        throw new SourceUnavailableError(
          `Could not reach the team server at ${this.server} to read '${name}' (${error.message}). ` +
            'No stored copy is used: check that the server is running and reachable, then call get_secret again.',
        );
      }
      if (error instanceof ApiError && error.status === 401) {
        throw new SourceUnavailableError(
          `The team server at ${this.server} no longer accepts the sign-in of ${this.command.name}. ` +
            `Run \`notebook-secrets login\` again, then ${this.command.restart}.`,
        );
      }
      if (error instanceof ApiError) {
        throw new SourceUnavailableError(
          `The team server at ${this.server} could not answer for '${name}' (${error.status}: ${error.message}).`,
        );
      }
      throw error;
    }
  }
}

/** The local store (values in the OS keychain): everything in it is the personal scope. */
export class LocalKeychainSource implements SecretSource {
  constructor(readonly store: LocalKeychainStore) {}

  async resolve(
    name: string,
    opts: { scope?: ScopeKind },
  ): Promise<{ value: string; encoding: Encoding } | undefined> {
    if (opts.scope && opts.scope !== 'personal') return undefined;
    try {
      const found = this.store.get(name);
      return found && { value: found.value, encoding: found.entry.encoding };
    } catch (error) {
      if (error instanceof KeychainUnavailableError)
        throw new SourceUnavailableError(error.message);
      throw error;
    }
  }
}

export type AttachStore =
  | { kind: 'server'; source: ServerSecretSource }
  | { kind: 'keychain'; source: LocalKeychainSource };

/**
 * The team server when signed in (config or NOTEBOOK_SECRETS_SERVER/_TOKEN), else the local store
 * in the OS keychain, which must be reachable now: attach says at once what to install.
 */
export function openAttachStore(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  command: ServingCommand = ATTACH_COMMAND,
): AttachStore {
  let session;
  try {
    session = openSession(options, processSessionIo(env));
  } catch (error) {
    // Not signed in: the keychain. A server asked for by name without a token is an error.
    const named = options.server ?? env.NOTEBOOK_SECRETS_SERVER;
    if (!(error instanceof CliError && error.exitCode === EXIT.unauthorized) || named) throw error;
    session = undefined;
  }
  if (session) {
    const token =
      env.NOTEBOOK_SECRETS_TOKEN || new TokenStore(configDir(env), env).get(session.server);
    const api = new ApiClient({
      baseUrl: session.server,
      token: token ?? '',
      userAgent: command.userAgent,
      fetch: nodeFetch,
    });
    return {
      kind: 'server',
      source: new ServerSecretSource(api, session.server, session.project, command),
    };
  }
  const keychain = osKeychain(undefined, env);
  // Fails now, with what to install, not at the first use, when there is no keychain.
  probeKeychain(keychain);
  return {
    kind: 'keychain',
    source: new LocalKeychainSource(new LocalKeychainStore(configDir(env), keychain)),
  };
}

/** A store opened for a command that serves kernels, with the words its messages use. */
export interface ServingStore {
  store: AttachStore;
  /** For the first log line: "Serving get_secret from …". */
  describe: string;
  /** What to tell a kernel that asked for a name there is no secret of. */
  addSecret: (name: string) => string;
}

/**
 * `openAttachStore` for `attach` and `run --kernels`. With no sign-in and no keychain, the
 * KeychainUnavailableError says that the user is not signed in either.
 */
export function openServingStore(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
  command: ServingCommand = ATTACH_COMMAND,
): ServingStore {
  let store: AttachStore;
  try {
    store = openAttachStore(
      {
        ...(options.project !== undefined && { project: options.project }),
        ...(options.server !== undefined && { server: options.server }),
      },
      env,
      command,
    );
  } catch (error) {
    if (!(error instanceof KeychainUnavailableError)) throw error;
    throw new KeychainUnavailableError(
      `Not signed in to a team server, and ${error.message.replace(/^No/, 'no')}`,
      { cause: error },
    );
  }
  if (store.kind === 'keychain') {
    return {
      store,
      describe: 'Serving get_secret from the local secrets in the OS keychain.',
      addSecret: (name) =>
        `Add it with \`notebook-secrets local set ${name}\`, then call get_secret again.`,
    };
  }
  const { server, project } = store.source;
  return {
    store,
    describe: `Serving get_secret from the team server at ${server}${project ? ` (project ${project})` : ''}.`,
    addSecret: (name) =>
      `Add it with \`notebook-secrets set ${name}\` (or in the Notebook Secrets view), then call get_secret again.`,
  };
}

/** Grants live as long as attach runs: nothing about consent is written to disk. */
class MemoryConsentState implements ConsentState {
  private readonly map = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.map.get(key) as T | undefined;
  }
  update(key: string, value: unknown): Promise<void> {
    this.map.set(key, value);
    return Promise.resolve();
  }
}

export interface AttachConsentOptions {
  /** Names every kernel may read without asking (--allow). */
  allow?: readonly string[];
  /** Every name, every kernel (--allow-all). */
  allowAll?: boolean;
  /** Where to ask; absent: no terminal, anything not allowed above is denied. */
  terminal?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
  /** The terminal's questions, when other questions share it (else made from `terminal`). */
  questions?: TerminalQuestion;
}

/**
 * Consent for attach: --allow names and --allow-all answer at once; otherwise the first request
 * of a kernel for a name asks on the terminal: [o]nce (this kernel until it restarts), [a]lways
 * (this notebook, or kernel, while attach runs), [d]eny (this kernel until it restarts). With no
 * terminal the request is denied.
 */
export function attachConsent(options: AttachConsentOptions): ConsentPolicy {
  const allowed = new Set(options.allow ?? []);
  const questions =
    options.questions ?? (options.terminal ? terminalQuestions(options.terminal) : undefined);
  const ask =
    questions && options.terminal ? terminalAsker(questions, options.terminal) : undefined;
  return new ConsentPolicy({
    state: new MemoryConsentState(),
    preapproved: (name) => options.allowAll === true || allowed.has(name),
    ask: async (request) => (ask ? ask(request) : undefined),
  });
}

/** Parses `--allow A,B --allow C` into names, refusing what is not a secret name. */
export function parseAllowList(values: readonly string[] | undefined): string[] {
  return parseNameList(values, '--allow');
}

/** Asks a question on the terminal; the line answered, or undefined at the end of input. */
export type TerminalQuestion = (question: string) => Promise<string | undefined>;

/** Questions on one terminal, through one reader, one at a time. */
export function terminalQuestions(terminal: {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}): TerminalQuestion {
  let rl: Interface | undefined;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const line = (question: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      if (closed) return resolve(undefined);
      if (!rl) {
        rl = createInterface({ input: terminal.input, output: terminal.output, terminal: false });
        rl.on('close', () => (closed = true));
      }
      const onClose = (): void => resolve(undefined);
      rl.once('close', onClose);
      terminal.output.write(question);
      rl.once('line', (answer) => {
        rl?.off('close', onClose);
        resolve(answer);
      });
    });
  return (question) => {
    const asked = queue.then(() => line(question));
    queue = asked.catch(() => undefined);
    return asked;
  };
}

/** Consent asked on the terminal; end of input or an unknown answer three times is deny. */
function terminalAsker(
  line: TerminalQuestion,
  terminal: { output: NodeJS.WritableStream },
): (request: ConsentRequest) => Promise<ConsentChoice | undefined> {
  let queue: Promise<unknown> = Promise.resolve();
  return (request) => {
    const asked = queue.then(async (): Promise<ConsentChoice | undefined> => {
      // The names first, on a line of their own: the label is the Jupyter server's (a session
      // path) and, even cleaned of control characters, may read like a question of its own.
      const asked = request.names
        ? `Secrets requested for the kernel's environment (os.environ): ${request.names.join(', ')}\n`
        : `Secret requested: ${request.name}\n`;
      const question =
        asked +
        `  asked by: ${displayText(request.label, 120)}\n` +
        'Allow [o]nce, [a]lways for this kernel, or [d]eny? ';
      for (let attempt = 0; attempt < 3; attempt++) {
        const answer = (await line(question))?.trim().toLowerCase();
        if (answer === undefined) return undefined;
        if (answer === 'o' || answer === 'once') return 'once';
        if (answer === 'a' || answer === 'always') return 'always';
        if (answer === 'd' || answer === 'deny' || answer === 'n' || answer === 'no') return 'deny';
        terminal.output.write('Answer o, a or d.\n');
      }
      return undefined;
    });
    queue = asked.catch(() => undefined);
    return asked;
  };
}
