/**
 * Connects to a Jupyter server, injects the helper into its kernels (now and as they start or
 * restart) and answers their in-band requests. Used by the extension for remote servers and by
 * `notebook-secrets attach`. Never shuts a kernel down: disposing only disconnects.
 *
 * Several clients may attach to one kernel: each injection makes its client the one the helper
 * asks first (the newest injection wins), and earlier clients still attached take over when it
 * leaves (see python/notebook_secrets.py).
 *
 * R kernels (IRkernel) get the R helper. When the Jupyter server runs on this machine (a loopback
 * URL) they use a broker of this attachment on 127.0.0.1, started with the first R kernel (the
 * R helper's in-band channel relies on IRkernel's internals); elsewhere they ask in band.
 */
import {
  ContentsManager,
  KernelAPI,
  KernelManager,
  KernelSpecAPI,
  ServerConnection,
  SessionManager,
  type Kernel,
  type KernelMessage,
} from '@jupyterlab/services';
import type { LookupFunction } from 'node:net';
import type { ClientOptions } from 'ws';
import { readNotebookChoices, type NotebookChoices } from '../core/notebookChoices';
import {
  checkTransport,
  insecureWarning,
  isLoopbackHost,
  loopbackOnlyLookup,
  type Transport,
} from '../core/serverUrl';
import { displayText } from '../core/displayText';
import { nodeFetch } from '../sync/nodeFetch';
import { InbandResponder } from './inband';
import { loadRHelperSource } from './helperSource';
import { buildInjectionCode } from './injection';
import { helperLanguage, type HelperLanguage } from './kernelLanguage';
import type { KernelSetupHandler } from './kernelSetup';
import type { KernelSession, KernelSessions } from './kernelSessions';
import { buildRInjectionCode } from './rInjection';
import type { SecretRequestHandler } from './requestHandler';
import type { BrokerLog } from './secretSource';
import { BrokerServer } from './server';
import { describeError } from './describeError';

export interface JupyterAttachmentOptions {
  /** e.g. http://127.0.0.1:8888/ (the server's base URL). */
  baseUrl: string;
  /** The Jupyter server's token. Kept by the caller; never logged. */
  token: string;
  /**
   * Plain http:// to another machine (the token and, in band, the values unencrypted): refused
   * unless the user opted in, in the way `insecureOptIn` names (a flag, a setting).
   */
  allowInsecureHttp?: boolean;
  insecureOptIn?: string;
  helperSource: string;
  /** The R helper's source (default: r/notebook_secrets.R next to the bundle). */
  rHelperSource?: string;
  sessions: KernelSessions;
  handler: SecretRequestHandler;
  log: BrokerLog;
  /** How often to look for new kernels (ms). Default 3,000. */
  pollIntervalMs?: number;
  /** Which kernels to attach to (default: all). */
  kernelFilter?: (model: Kernel.IModel, path: string | undefined) => boolean;
  /**
   * The consent key of a notebook at `path` on the server (default: the server's URL and the
   * path), e.g. the notebook's file, so that grants outlive a server started on another port.
   */
  notebookKey?: (path: string) => string;
  /** Called when consent decisions of a kernel session should be forgotten (restart). */
  onSessionEnded?: (sessionId: string) => void;
  /**
   * Whether the helper redacts served values from the kernel's outputs (default true); read at
   * each injection, so a change applies to kernels enabled from then on.
   */
  redactOutputs?: () => boolean;
  /** Answers the helper's setup and environment requests (see kernelSetup.ts). */
  setup?: KernelSetupHandler;
}

interface Attached {
  connection: Kernel.IKernelConnection;
  responder: InbandResponder;
  token: string;
  session: KernelSession;
  sessionId: string;
  needsInjection: boolean;
  injecting: Promise<void> | undefined;
  injections: number;
  language: HelperLanguage;
}

export class JupyterAttachment {
  private readonly settings: ServerConnection.ISettings;
  private kernels: KernelManager | undefined;
  private sessionManager: SessionManager | undefined;
  private readonly attached = new Map<string, Attached>();
  private readonly listeners = new Set<(kernelId: string, injections: number) => void>();
  private disposed = false;
  /** Our kernel websockets that are not closed yet, so close() can wait for them. */
  private readonly sockets = new Set<WebSocket>();

  private readonly transport: Transport;
  /** Kernelspec name → language, from the server (for R kernels). */
  private specLanguages: Map<string, string> | undefined;
  /** The loopback broker for R kernels, once the first one needs it. */
  private rBroker: BrokerServer | undefined;
  private rEndpoint: Promise<string> | undefined;

  /** Throws InvalidInput for plain http:// to another machine without the opt-in. */
  constructor(private readonly options: JupyterAttachmentOptions) {
    const baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : options.baseUrl + '/';
    this.transport = checkTransport(new URL(baseUrl), {
      allowInsecureHttp: options.allowInsecureHttp === true,
      optIn: options.insecureOptIn ?? 'an explicit opt-in to plain HTTP',
      what: 'The Jupyter server URL',
    });
    this.settings = ServerConnection.makeSettings({
      baseUrl,
      token: options.token,
      // Never a redirect, and `localhost` only at a loopback address, as for the team server.
      fetch: nodeFetch,
      WebSocket: trackingWebSocket(this.sockets),
    });
  }

  /** Checks the server answers, then attaches to every running kernel. */
  async start(): Promise<void> {
    const pollInterval = this.options.pollIntervalMs ?? 3000;
    if (this.transport === 'insecure-http') {
      this.options.log.warn(
        insecureWarning(
          new URL(this.options.baseUrl),
          this.options.insecureOptIn ?? 'an explicit opt-in',
        ),
      );
    }
    // Fails with the server's answer (e.g. 403 for a wrong token) before anything else starts.
    await KernelAPI.listRunning(this.settings);
    this.kernels = new KernelManager({
      serverSettings: this.settings,
      standby: 'never',
    });
    this.sessionManager = new SessionManager({
      serverSettings: this.settings,
      kernelManager: this.kernels,
      standby: 'never',
    });
    await this.kernels.ready;
    await this.sync();
    // Started means the running kernels have the helper: a cell run right after must find it.
    await Promise.all([...this.attached.values()].flatMap((entry) => entry.injecting ?? []));
    this.kernels.runningChanged.connect(() => void this.sync(), this);
    this.timer = setInterval(() => void this.refresh(), pollInterval);
    this.timer.unref?.();
  }

  private timer: ReturnType<typeof setInterval> | undefined;

  private async refresh(): Promise<void> {
    try {
      await this.kernels?.refreshRunning();
    } catch {
      // A transient failure; the next poll retries.
    }
  }

  /**
   * The choices in the metadata of a kernel's notebook, as the Jupyter server has it saved (none
   * for a kernel without a notebook, or one the server cannot read).
   */
  async notebookChoices(session: KernelSession): Promise<NotebookChoices> {
    const base = this.settings.baseUrl;
    if (!session.notebook.startsWith(base) || session.notebook.includes('#kernel=')) {
      return { environment: [] };
    }
    try {
      const contents = new ContentsManager({ serverSettings: this.settings });
      const model = await contents.get(session.notebook.slice(base.length), {
        type: 'notebook',
        content: true,
      });
      contents.dispose();
      return readNotebookChoices((model.content as { metadata?: unknown } | null)?.metadata);
    } catch (error) {
      this.options.log.warn(
        `Could not read the notebook of ${session.label} for its choices: ${describeError(error)}`,
      );
      return { environment: [] };
    }
  }

  /** Kernel ids currently attached. */
  get kernelIds(): string[] {
    return [...this.attached.keys()];
  }

  /** Fires after each successful injection (first one and after restarts). */
  onDidInject(listener: (kernelId: string, injections: number) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Resolves once the kernel has the helper (attaching first if needed). */
  async whenInjected(kernelId: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = this.attached.get(kernelId);
      if (entry && entry.injections > 0 && !entry.needsInjection) {
        await entry.injecting;
        return;
      }
      if (Date.now() > deadline) throw new Error(`Kernel ${kernelId} was not injected in time.`);
      if (!entry) await this.refresh();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async sync(): Promise<void> {
    if (this.disposed || !this.kernels) return;
    const running = new Map([...this.kernels.running()].map((m) => [m.id, m]));
    for (const [id, entry] of this.attached) {
      if (!running.has(id)) this.detach(id, entry);
    }
    const paths = await this.sessionPaths();
    for (const model of running.values()) {
      if (this.attached.has(model.id)) continue;
      if (this.options.kernelFilter && !this.options.kernelFilter(model, paths.get(model.id))) {
        continue;
      }
      const language = helperLanguage(await this.specLanguage(model.name)) ?? 'python';
      if (this.disposed || this.attached.has(model.id)) continue;
      this.attach(model, paths.get(model.id), language);
    }
  }

  private async sessionPaths(): Promise<Map<string, string>> {
    const paths = new Map<string, string>();
    try {
      await this.sessionManager?.refreshRunning();
      for (const s of this.sessionManager?.running() ?? []) {
        if (s.kernel) paths.set(s.kernel.id, s.path);
      }
    } catch {
      // Sessions are only for labels and consent keys.
    }
    return paths;
  }

  /** The language of a kernelspec (`python`, `R`, …), asking the server again for a new name. */
  private async specLanguage(name: string): Promise<string | undefined> {
    if (!this.specLanguages?.has(name)) {
      try {
        const specs = await KernelSpecAPI.getSpecs(this.settings);
        this.specLanguages = new Map(
          Object.entries(specs.kernelspecs).map(([key, spec]) => [key, spec?.language ?? '']),
        );
      } catch {
        // Unknown: treated as Python, as before kernels of other languages were served.
      }
    }
    return this.specLanguages?.get(name);
  }

  /** How R kernels reach this client: a loopback broker for a server on this machine, else in band. */
  private async rRoute(): Promise<{ endpoint: string } | { inband: true }> {
    const endpoint = await this.rBrokerEndpoint();
    return endpoint === undefined ? { inband: true } : { endpoint };
  }

  /** The endpoint R kernels reach, or undefined when the server is not on this machine. */
  private rBrokerEndpoint(): Promise<string | undefined> {
    if (!isLoopbackHost(new URL(this.settings.baseUrl).hostname)) return Promise.resolve(undefined);
    this.rEndpoint ??= (async () => {
      const broker = new BrokerServer({
        sessions: this.options.sessions,
        handler: this.options.handler,
        log: this.options.log,
        listen: 'tcp',
        ...(this.options.setup && { setup: this.options.setup }),
      });
      this.rBroker = broker;
      const endpoint = await broker.start();
      if (this.disposed) void broker.stop();
      return endpoint;
    })();
    return this.rEndpoint.catch((err: unknown) => {
      this.rEndpoint = undefined;
      throw err;
    });
  }

  private attach(model: Kernel.IModel, path: string | undefined, language: HelperLanguage): void {
    if (!this.kernels) return;
    const connection = this.kernels.connectTo({ model, handleComms: false });
    // What the consent prompt names: the notebook (or the kernel) and the server it runs on. The
    // path and the id are the Jupyter server's text: no control characters, bounded.
    const host = new URL(this.settings.baseUrl).host;
    const where = `${displayText(path ?? `kernel ${model.id.slice(0, 8)}`, 100)} on ${host}`;
    const notebook =
      path && this.options.notebookKey
        ? this.options.notebookKey(path)
        : `${this.settings.baseUrl}${path ? path : `#kernel=${model.id}`}`;
    const { token, session } = this.options.sessions.issue(notebook, where);
    const responder = new InbandResponder(connection, {
      handler: this.options.handler,
      sessions: this.options.sessions,
      log: this.options.log,
      sessionId: session.id,
      ...(this.options.setup && { setup: this.options.setup }),
    });
    const entry: Attached = {
      connection,
      responder,
      token,
      session,
      sessionId: session.id,
      needsInjection: true,
      injecting: undefined,
      injections: 0,
      language,
    };
    this.attached.set(model.id, entry);
    const restarted = (): void => {
      if (entry.injections > 0) this.options.onSessionEnded?.(entry.sessionId);
      entry.needsInjection = true;
      // After a restart the server's IOPub subscription of this connection may miss the new
      // kernel's first messages; a fresh websocket gets fresh streams.
      setTimeout(() => void this.reinject(model.id, entry), 300);
    };
    connection.statusChanged.connect((_, status) => {
      this.options.log.debug(`kernel ${model.id} status ${status}`);
      if (status === 'restarting' || status === 'autorestarting' || status === 'starting') {
        if (!entry.needsInjection) restarted();
      } else if (status === 'dead') {
        this.detach(model.id, entry);
      }
    });
    connection.iopubMessage.connect((_, msg) => {
      const content = msg.content as { restart?: boolean };
      if (msg.header.msg_type === 'shutdown_reply' && content.restart && !entry.needsInjection) {
        restarted();
      }
    });
    this.options.log.info(`Attached to ${where}${language === 'r' ? ' (R)' : ''}`);
    void this.inject(model.id, entry);
  }

  private async reinject(kernelId: string, entry: Attached): Promise<void> {
    for (let attempt = 0; attempt < 10 && entry.needsInjection && !this.disposed; attempt++) {
      if (!this.attached.has(kernelId)) return;
      try {
        await withTimeout(entry.connection.reconnect(), 10_000);
      } catch {
        // retried below
      }
      await this.inject(kernelId, entry);
      if (!entry.needsInjection) return;
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
  }

  private inject(kernelId: string, entry: Attached): Promise<void> {
    if (entry.injecting) return entry.injecting;
    entry.needsInjection = false;
    entry.injecting = (async () => {
      try {
        const code =
          entry.language === 'r'
            ? buildRInjectionCode({
                helperSource: this.options.rHelperSource ?? loadRHelperSource(),
                token: entry.token,
                ...(await this.rRoute()),
                redactOutputs: this.options.redactOutputs?.() ?? true,
              })
            : buildInjectionCode({
                helperSource: this.options.helperSource,
                token: entry.token,
                inband: true,
                redactOutputs: this.options.redactOutputs?.() ?? true,
                environment: (await this.options.setup?.hasEnvironment(entry.session)) ?? false,
              });
        const future = entry.connection.requestExecute(
          { code, silent: true, store_history: false, allow_stdin: false, stop_on_error: false },
          true,
        );
        // The shell reply is enough: waiting for IOPub idle too would hang on a stale stream.
        const reply = await withTimeout(
          new Promise<KernelMessage.IExecuteReplyMsg>((resolve) => {
            future.onReply = resolve;
          }),
          15_000,
        );
        future.dispose();
        if (reply.content.status !== 'ok') {
          throw new Error(`the kernel answered ${reply.content.status}`);
        }
        // In-band requests arrive on IOPub. The server subscribes a new websocket to it late when
        // it is busy, and may miss the start ("slow joiner"); then no request would ever reach
        // this responder. Wait until IOPub answers; a fresh websocket gets a fresh subscription.
        for (let attempt = 1; !(await iopubAnswers(entry.connection, 5_000)); attempt++) {
          if (attempt === 4) throw new Error("the kernel's output stream (IOPub) does not answer");
          this.options.log.info(`Reconnecting to kernel ${kernelId}: its IOPub stream is silent`);
          await withTimeout(entry.connection.reconnect(), 10_000).catch(() => undefined);
        }
        entry.injections++;
        this.options.log.info(`get_secret enabled in kernel ${kernelId}`);
        for (const l of this.listeners) l(kernelId, entry.injections);
      } catch (err) {
        entry.needsInjection = true;
        this.options.log.warn(
          `Could not enable get_secret in kernel ${kernelId}: ${describeError(err)}`,
        );
      } finally {
        entry.injecting = undefined;
      }
    })();
    return entry.injecting;
  }

  private detach(kernelId: string, entry: Attached): void {
    entry.responder.dispose();
    this.options.sessions.revoke(entry.token);
    this.options.onSessionEnded?.(entry.sessionId);
    entry.connection.dispose();
    this.attached.delete(kernelId);
    this.options.log.info(`Detached from kernel ${kernelId}`);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    for (const [id, entry] of [...this.attached]) this.detach(id, entry);
    this.sessionManager?.dispose();
    this.kernels?.dispose();
    void this.rBroker?.stop();
  }

  /**
   * Disposes, then waits until the server has acknowledged closing each websocket (or `timeoutMs`
   * passed). Resolves to the number of websockets that did not close in time.
   */
  async close(timeoutMs = 800): Promise<number> {
    const closing = [...this.sockets];
    this.dispose();
    const closed = closing.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) resolve();
          else ws.addEventListener('close', () => resolve());
        }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return closing.filter((ws) => ws.readyState !== ws.CLOSED).length;
  }
}

/**
 * The WebSocket class @jupyterlab/services would use (the `ws` package in Node), recording each
 * socket in `open` until it closes. Disposing a kernel connection starts the closing handshake
 * without waiting for it. Its connections resolve `localhost` only to a loopback address.
 */
function trackingWebSocket(open: Set<WebSocket>): typeof WebSocket {
  const Base = ServerConnection.makeSettings().WebSocket as unknown as new (
    url: string | URL,
    protocols?: string | string[],
    // ws hands its options on to net.connect, which takes `lookup`.
    options?: ClientOptions & { lookup: LookupFunction },
  ) => WebSocket;
  const lookup = loopbackOnlyLookup(process.getBuiltinModule('node:dns').lookup);
  return class TrackedWebSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { lookup });
      open.add(this);
      this.addEventListener('close', () => open.delete(this));
    }
  } as unknown as typeof WebSocket;
}

/** Whether a silent, empty request's IOPub idle comes back on `connection` within `ms`. */
async function iopubAnswers(connection: Kernel.IKernelConnection, ms: number): Promise<boolean> {
  const future = connection.requestExecute(
    { code: '', silent: true, store_history: false, allow_stdin: false, stop_on_error: false },
    true,
  );
  try {
    await withTimeout(future.done, ms);
    return true;
  } catch {
    return false;
  } finally {
    future.dispose();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
