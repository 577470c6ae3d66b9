/**
 * The process behind JupyterLab's Secrets panel: started and supervised by the Jupyter server
 * extension (jupyterlab/notebook_secrets_jupyterlab), it attaches to that Jupyter server's kernels
 * as `notebook-secrets attach` does (the helper in each kernel, in-band answers), asks consent
 * through the panel, and answers the panel's requests from the same store: the team server when
 * signed in, else the OS keychain of this machine. The server extension forwards requests and
 * events; values stay in this process and in the answers of `reveal`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConsentPolicy } from '../../broker/consent';
import { loadHelperSource } from '../../broker/helperSource';
import { JupyterAttachment } from '../../broker/jupyterAttachment';
import { KernelSessions } from '../../broker/kernelSessions';
import { SecretRequestHandler, type ClientWording } from '../../broker/requestHandler';
import {
  SourceUnavailableError,
  type BrokerLog,
  type SecretSource,
} from '../../broker/secretSource';
import { InvalidInput, SecretsError } from '../../core/errors';
import type { Encoding, ScopeKind } from '../../core/model';
import {
  PanelRequest,
  type ConsentQuestion,
  type PanelState,
  type StandingGrant,
} from '../../core/panelProtocol';
import { checkTransport } from '../../core/serverUrl';
import { scanText } from '../../core/secretScan';
import { normalizeServerUrl } from '../../core/serverUrl';
import { openAttachStore, type ServingCommand } from '../client/attachSources';
import { configDir, loadConfig, saveConfig, TokenStore } from '../client/credentials';
import { KeychainUnavailableError } from '../client/localKeychainStore';
import { processSessionIo } from '../client/io';
import { cliApiClient, CliError, openSession } from '../client/session';
import { ConsentRelay, FileConsentState } from './consentRelay';
import { KeychainPanelSecrets, ServerPanelSecrets, type PanelSecrets } from './panelSecrets';

/** How the team server's audit log and the kernels' messages name this client. */
export const JUPYTERLAB_COMMAND: ServingCommand = {
  userAgent: 'notebook-secrets-jupyterlab',
  name: "JupyterLab's Secrets panel",
  restart: 'sign in again in the Secrets panel and call get_secret again',
};

/** What a kernel's error tells a JupyterLab user to do. */
export const JUPYTERLAB_WORDING: ClientWording = {
  addSecret: (name) =>
    `Add it in JupyterLab's Secrets panel (or check the spelling), then call get_secret('${name}') again.`,
  log: "the Jupyter server's log",
  accessDenied: (name) =>
    `Access to '${name}' was denied for this notebook. To allow it, forget the answer under Notebook Access in JupyterLab's Secrets panel (or restart the kernel) and call get_secret again.`,
};

/** The file of "Always for This Notebook" grants, in the CLI's config folder. */
export const GRANTS_FILE = 'jupyterlab-grants.json';

export type BridgeEvent =
  | { event: 'questions'; questions: ConsentQuestion[] }
  | { event: 'changed' }
  | { event: 'kernels'; kernels: string[] };

export interface BridgeOptions {
  /** The Jupyter server this bridge serves, as reachable from this machine. */
  jupyterUrl: string;
  token: string;
  /** The server's root folder: grants are kept by the notebook's file, not by the server's port. */
  rootDir?: string | undefined;
  env?: NodeJS.ProcessEnv;
  log: BrokerLog;
  emit(event: BridgeEvent): void;
  /** How often to look for new kernels (ms); the panel also says when one starts. */
  pollIntervalMs?: number;
  /** For tests: how long a consent question waits. */
  questionTimeoutMs?: number;
}

/** get_secret's source, which follows sign-in and sign-out. */
class CurrentSource implements SecretSource {
  current: SecretSource | undefined;
  problem = 'Not signed in to a team server and no OS keychain is available.';

  resolve(name: string, opts: { scope?: ScopeKind }) {
    if (!this.current) throw new SourceUnavailableError(this.problem);
    return this.current.resolve(name, opts);
  }
}

export class JupyterLabBridge {
  private readonly env: NodeJS.ProcessEnv;
  private readonly source = new CurrentSource();
  private panel: PanelSecrets | undefined;
  private unavailable = '';
  readonly relay: ConsentRelay;
  readonly consent: ConsentPolicy;
  private readonly attachment: JupyterAttachment;
  private readonly injected = new Set<string>();
  private readonly notebookPrefix: string | undefined;

  constructor(private readonly options: BridgeOptions) {
    this.env = options.env ?? process.env;
    this.relay = new ConsentRelay(options.questionTimeoutMs);
    this.consent = new ConsentPolicy({
      state: new FileConsentState(join(configDir(this.env), GRANTS_FILE)),
      ask: this.relay.ask,
    });
    this.relay.onDidChange(() =>
      options.emit({ event: 'questions', questions: this.relay.questions() }),
    );
    this.consent.onDidChange(() => options.emit({ event: 'changed' }));
    this.notebookPrefix = options.rootDir
      ? `${pathToFileURL(options.rootDir).href.replace(/\/$/, '')}/`
      : undefined;
    const handler = new SecretRequestHandler({
      source: this.source,
      log: options.log,
      wording: JUPYTERLAB_WORDING,
      consent: this.consent,
    });
    this.attachment = new JupyterAttachment({
      baseUrl: options.jupyterUrl,
      token: options.token,
      helperSource: loadHelperSource(),
      sessions: new KernelSessions(),
      handler,
      log: options.log,
      ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      ...(this.notebookPrefix && {
        notebookKey: (path: string) => `${this.notebookPrefix}${path}`,
      }),
      onSessionEnded: (id) => this.consent.forgetSession(id),
    });
    this.attachment.onDidInject((kernelId) => {
      this.injected.add(kernelId);
      options.emit({ event: 'kernels', kernels: this.kernels() });
    });
  }

  /** Opens the store and attaches to the server's kernels. */
  async start(): Promise<void> {
    this.openStore();
    await this.attachment.start();
  }

  /** Kernels that have get_secret now. */
  kernels(): string[] {
    const attached = new Set(this.attachment.kernelIds);
    return [...this.injected].filter((id) => attached.has(id));
  }

  /** The team server when signed in, else the OS keychain, else nothing (with why). */
  private openStore(): void {
    this.panel = undefined;
    this.source.current = undefined;
    try {
      const attachStore = openAttachStore({}, this.env, JUPYTERLAB_COMMAND);
      this.source.current = attachStore.source;
      if (attachStore.kind === 'server') {
        this.panel = new ServerPanelSecrets(openSession({}, processSessionIo(this.env)));
        this.options.log.info(`Serving from the team server at ${attachStore.source.server}.`);
      } else {
        this.panel = new KeychainPanelSecrets(attachStore.source.store);
        this.options.log.info('Serving from the local secrets in the OS keychain.');
      }
    } catch (error) {
      if (!(error instanceof KeychainUnavailableError || error instanceof CliError)) throw error;
      this.unavailable = `Not signed in to a team server, and ${error.message.replace(/^No/, 'no')}`;
      this.source.problem = this.unavailable;
      this.options.log.warn(this.unavailable);
    }
  }

  /** Answers one request of the panel; throws SecretsError with a message for the user. */
  async handle(body: unknown): Promise<unknown> {
    const parsed = PanelRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw new InvalidInput(`Bad request: ${where}${issue?.message ?? 'invalid'}`);
    }
    const request = parsed.data;
    switch (request.op) {
      case 'state':
        return this.state();
      case 'create': {
        const secret = await this.store().create(request);
        this.options.log.info(`Created secret ${secret.name} (${secret.type}).`);
        return this.changed({ secret });
      }
      case 'update': {
        const secret = await this.store().update(request.id, request);
        this.options.log.info(`Updated secret ${secret.name}.`);
        return this.changed({ secret });
      }
      case 'delete':
        await this.store().delete(request.id);
        this.options.log.info(`Deleted a secret (${request.id}).`);
        return this.changed({});
      case 'reveal': {
        const found: { value: string; encoding: Encoding } = await this.store().reveal(request.id);
        this.options.log.info(`Revealed a secret in the panel (${request.id}).`);
        return { value: found.value, encoding: found.encoding };
      }
      case 'access':
        return { access: await this.store().access(request.id) };
      case 'share': {
        const access = await this.store().share(request.id, request.access);
        return this.changed({ access });
      }
      case 'signin':
        return this.changed(await this.signIn(request.server, request.token));
      case 'signout':
        this.signOut();
        return this.changed({});
      case 'grants':
        return {
          grants: this.consent.grants().map((g): StandingGrant => ({
            ...g,
            label: this.notebookLabel(g.notebook),
          })),
          sessionDecisions: this.consent.hasSessionDecisions(),
        };
      case 'revoke':
        for (const g of request.grants) await this.consent.revoke(g.notebook, g.name);
        if (request.forgetSessions) this.consent.forgetAllSessions();
        return {};
      case 'consent':
        return { answered: this.relay.answer(request.question, request.choice) };
      case 'kernel':
        try {
          await this.attachment.whenInjected(request.kernelId);
          return { ready: true };
        } catch {
          return { ready: false };
        }
      case 'scan':
        return {
          findings: request.cells.flatMap((cell) =>
            scanText(cell.source).map((f) => ({
              cell: cell.number,
              line: f.line,
              rule: f.title,
              masked: f.masked,
            })),
          ),
        };
    }
  }

  private async state(): Promise<PanelState> {
    const base = { kernels: this.kernels(), questions: this.relay.questions() };
    const saved = loadConfig(configDir(this.env)).server;
    const savedServer = saved ? { savedServer: saved } : {};
    if (!this.panel) {
      const store = { kind: 'unavailable' as const, message: this.unavailable, ...savedServer };
      return { ...base, store, secrets: [] };
    }
    const store = this.panel.store();
    return {
      ...base,
      store: store.kind === 'keychain' ? { ...store, ...savedServer } : store,
      secrets: await this.panel.list(),
    };
  }

  private store(): PanelSecrets {
    if (!this.panel) throw new SecretsError('unavailable', this.unavailable);
    return this.panel;
  }

  private changed<T>(answer: T): T {
    this.options.emit({ event: 'changed' });
    return answer;
  }

  /** As `notebook-secrets login`: checks the token, keeps it in the keyring (or a 0600 file). */
  private async signIn(rawServer: string, rawToken: string): Promise<{ user: string }> {
    const token = rawToken.trim();
    if (!token) throw new InvalidInput('Enter the token of your team server account.');
    let server: string;
    try {
      server = normalizeServerUrl(rawServer.trim());
    } catch {
      throw new InvalidInput(
        `'${rawServer}' is not a server URL like https://secrets.example.com.`,
      );
    }
    checkTransport(new URL(server), {
      allowInsecureHttp: false,
      optIn: '`notebook-secrets login --insecure-http` on the machine that runs Jupyter',
      what: 'The team server URL',
    });
    const api = cliApiClient(server, processSessionIo(this.env), token);
    await api.health();
    const me = await api.me();
    const dir = configDir(this.env);
    new TokenStore(dir, this.env).set(server, token);
    saveConfig({ ...loadConfig(dir), server, user: me.user.id }, dir);
    this.options.log.info(`Signed in to ${server} as ${me.user.id}.`);
    this.openStore();
    return { user: me.user.id };
  }

  /** Forgets the token on this machine; the server URL stays for the next sign-in. */
  private signOut(): void {
    const dir = configDir(this.env);
    const config = loadConfig(dir);
    if (config.server) new TokenStore(dir, this.env).delete(config.server);
    const rest = { ...config };
    delete rest.user;
    saveConfig(rest, dir);
    this.options.log.info('Signed out of the team server.');
    this.openStore();
  }

  /** A grant's notebook as the user knows it: its path under the server's root folder. */
  private notebookLabel(notebook: string): string {
    return this.notebookPrefix && notebook.startsWith(this.notebookPrefix)
      ? decodeURIComponent(notebook.slice(this.notebookPrefix.length))
      : notebook;
  }

  async close(): Promise<void> {
    this.relay.dispose();
    await this.attachment.close();
  }
}
