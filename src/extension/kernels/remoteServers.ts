/**
 * Remote Jupyter servers the user connects through this extension (@jupyterlab/services): their
 * kernels cannot reach the local broker, so the helper asks in band and we answer over our own
 * connection. URLs are kept in globalState, server tokens in SecretStorage. The Jupyter extension's
 * kernel picker lists the same servers (kernelPickerServers.ts), so each is entered once.
 */
import * as vscode from 'vscode';
import { describeError } from '../../broker/describeError';
import type { JupyterAttachment } from '../../broker/jupyterAttachment';
import type { KernelSessions } from '../../broker/kernelSessions';
import type { SecretRequestHandler } from '../../broker/requestHandler';
import type { ConsentPolicy } from '../../broker/consent';
import type { KernelSetupHandler } from '../../broker/kernelSetup';
import type { KernelSession } from '../../broker/kernelSessions';
import type { NotebookChoices } from '../../core/notebookChoices';
import { checkTransport, insecureWarning, transportProblem } from '../../core/serverUrl';
import { INSECURE_SETTING } from '../serverTrust';
import { UserFacingError } from '../registerCommand';
import { redactOutputs } from './redactOutputs';
import { setting } from '../settings';

const SERVERS_KEY = 'notebookSecrets.jupyterServers';
const tokenKey = (url: string) => `notebookSecrets.jupyterServerToken:${url}`;

export interface RemoteServerDeps {
  context: vscode.ExtensionContext;
  sessions: KernelSessions;
  handler: SecretRequestHandler;
  consent: ConsentPolicy;
  helperSource(): string;
  log: vscode.LogOutputChannel;
  /** Answers the helper's setup and environment requests. */
  setup?: KernelSetupHandler;
}

export class RemoteServers implements vscode.Disposable {
  private readonly attached = new Map<string, JupyterAttachment>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a server is added or removed (the Jupyter kernel picker lists them). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly deps: RemoteServerDeps) {}

  /** The choices of a kernel's notebook on one of these servers, from its saved metadata. */
  notebookChoices(session: KernelSession): Promise<NotebookChoices> | undefined {
    for (const [url, attachment] of this.attached) {
      if (session.notebook.startsWith(url)) return attachment.notebookChoices(session);
    }
    return undefined;
  }

  /** The token saved for a server ('' when it has none). */
  async tokenOf(url: string): Promise<string> {
    return (await this.deps.context.secrets.get(tokenKey(url))) ?? '';
  }

  saved(): string[] {
    const raw = this.deps.context.globalState.get<unknown>(SERVERS_KEY);
    return Array.isArray(raw) ? raw.filter((u): u is string => typeof u === 'string') : [];
  }

  /** Reconnects to the servers saved earlier (quietly: failures go to the log). */
  async restore(): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    await Promise.all(
      this.saved().map(async (url) => {
        try {
          const token = (await this.deps.context.secrets.get(tokenKey(url))) ?? '';
          await this.connect(url, token);
        } catch (error) {
          this.deps.log.warn(
            `Could not reconnect to the Jupyter server ${url}: ${describeError(error)}`,
          );
        }
      }),
    );
  }

  /** Asks for a server's URL and token, connects, saves it; its URL, or undefined if cancelled. */
  async add(): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new UserFacingError(
        'Connecting Jupyter servers is not available in an untrusted workspace: trust this folder first.',
      );
    }
    const input = await vscode.window.showInputBox({
      title: 'Add Jupyter Server (1/2)',
      prompt:
        'The URL of a running Jupyter server, e.g. http://127.0.0.1:8888/ (a token in the URL is moved to secure storage)',
      ignoreFocusOut: true,
      validateInput: (text) => {
        const parsed = parseServerUrl(text);
        if (!parsed) return 'Enter an http:// or https:// URL.';
        return transportProblem(new URL(parsed.url), this.insecurePolicy());
      },
    });
    if (input === undefined) return undefined;
    const parsed = parseServerUrl(input)!;
    let token = parsed.token;
    if (token === undefined) {
      token = await vscode.window.showInputBox({
        title: 'Add Jupyter Server (2/2)',
        prompt:
          "The server's token (leave empty if it has none). It is kept in VS Code SecretStorage.",
        password: true,
        ignoreFocusOut: true,
      });
      if (token === undefined) return undefined;
    }
    const url = parsed.url;
    const attachment = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Connecting to ${url}…` },
      () => this.connect(url, token),
    );
    await this.deps.context.secrets.store(tokenKey(url), token);
    const servers = this.saved().filter((u) => u !== url);
    await this.deps.context.globalState.update(SERVERS_KEY, [...servers, url]);
    this.changed.fire();
    const connected = `Connected to ${url}: get_secret is enabled in ${attachment.kernelIds.length} running kernel(s) and in kernels started later.`;
    if (checkTransport(new URL(url), this.insecurePolicy()) === 'insecure-http') {
      void vscode.window.showWarningMessage(
        `${connected} ${insecureWarning(new URL(url), `the setting ${INSECURE_SETTING}`)}`,
      );
    } else {
      void vscode.window.showInformationMessage(connected);
    }
    return url;
  }

  async remove(): Promise<void> {
    const servers = this.saved();
    if (servers.length === 0) {
      void vscode.window.showInformationMessage('No Jupyter server is connected.');
      return;
    }
    const url = await vscode.window.showQuickPick(servers, {
      title: 'Remove Jupyter Server',
      placeHolder: 'get_secret stops working in its kernels',
    });
    if (!url) return;
    this.attached.get(url)?.dispose();
    this.attached.delete(url);
    await this.deps.context.secrets.delete(tokenKey(url));
    await this.deps.context.globalState.update(
      SERVERS_KEY,
      servers.filter((u) => u !== url),
    );
    this.changed.fire();
  }

  /** Plain http:// to another machine only with `notebookSecrets.server.allowInsecureHttp`. */
  private insecurePolicy() {
    return {
      allowInsecureHttp: setting('server.allowInsecureHttp') === true,
      optIn: `the setting ${INSECURE_SETTING}`,
      what: 'The Jupyter server URL',
    };
  }

  private async connect(url: string, token: string): Promise<JupyterAttachment> {
    const policy = this.insecurePolicy();
    const problem = transportProblem(new URL(url), policy);
    if (problem) throw new UserFacingError(problem);
    this.attached.get(url)?.dispose();
    // The Jupyter client (@jupyterlab/services, ws) is loaded with the first server.
    const { JupyterAttachment } = await import('../../broker/jupyterAttachment');
    const attachment = new JupyterAttachment({
      baseUrl: url,
      token,
      allowInsecureHttp: policy.allowInsecureHttp,
      insecureOptIn: policy.optIn,
      helperSource: this.deps.helperSource(),
      sessions: this.deps.sessions,
      handler: this.deps.handler,
      log: this.deps.log,
      onSessionEnded: (id) => this.deps.consent.forgetSession(id),
      redactOutputs,
      ...(this.deps.setup && { setup: this.deps.setup }),
    });
    try {
      await attachment.start();
    } catch (error) {
      attachment.dispose();
      throw new UserFacingError(
        `Could not connect to the Jupyter server at ${url} (${describeError(error)}). Check the URL and the token.`,
      );
    }
    this.attached.set(url, attachment);
    return attachment;
  }

  dispose(): void {
    for (const attachment of this.attached.values()) attachment.dispose();
    this.attached.clear();
    this.changed.dispose();
  }
}

/** Splits `http://host:8888/lab?token=abc` into a base URL and its token. */
export function parseServerUrl(text: string): { url: string; token?: string } | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const token = url.searchParams.get('token') ?? undefined;
  // The server's base URL: drop UI paths (/lab, /tree, /notebooks/...) and the query.
  const path = url.pathname.replace(/\/(lab|tree|notebooks|edit|doc)(\/.*)?$/, '/');
  const base = `${url.protocol}//${url.host}${path.endsWith('/') ? path : path + '/'}`;
  return token === undefined ? { url: base } : { url: base, token };
}
