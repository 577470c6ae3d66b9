/**
 * The Jupyter servers added with "Add Jupyter Server" also appear in the Jupyter extension's
 * kernel picker, through its server-collection API (`createJupyterServerCollection`), so the user
 * enters a URL and token once; the picker's "Add Jupyter Server…" runs the same steps, and
 * removing a server removes it from both. The collection is created when a notebook is open in a
 * trusted workspace, as that API asks, and never where the Jupyter extension lacks it.
 */
import type {
  Jupyter,
  JupyterServer,
  JupyterServerCollection,
  JupyterServerCommand,
} from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import { findJupyterApi } from './jupyterApi';
import { Disposable } from '../disposables';

export const COLLECTION_ID = 'notebookSecrets.jupyterServers';
export const COLLECTION_LABEL = 'Notebook Secrets';
const ADD_COMMAND: JupyterServerCommand = { label: 'Add Jupyter Server…' };

export interface KernelPickerDeps {
  servers: {
    saved(): string[];
    tokenOf(url: string): Promise<string>;
    /** The add flow (URL, token, connect, save); the URL added, or undefined if cancelled. */
    add(): Promise<string | undefined>;
    onDidChange: vscode.Event<void>;
  };
  log: vscode.LogOutputChannel;
  /** For tests: the Jupyter API, or undefined when it is not installed. */
  jupyter?: () => Promise<Jupyter | undefined>;
}

export class KernelPickerServers extends Disposable {
  private collection: JupyterServerCollection | undefined;
  private creating: Promise<void> | undefined;
  private readonly changed = this.register(new vscode.EventEmitter<void>());

  constructor(private readonly deps: KernelPickerDeps) {
    super();
    this.registerAll(
      deps.servers.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidOpenNotebookDocument(() => void this.ensure()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.ensure()),
    );
  }

  /** Creates the collection once, when a notebook is open in a trusted workspace. */
  ensure(): Promise<void> {
    if (this.collection || !vscode.workspace.isTrusted) return Promise.resolve();
    if (vscode.workspace.notebookDocuments.length === 0) return Promise.resolve();
    this.creating ??= this.create().finally(() => (this.creating = undefined));
    return this.creating;
  }

  private async create(): Promise<void> {
    const jupyter = await this.jupyter();
    if (!jupyter || typeof jupyter.createJupyterServerCollection !== 'function') return;
    try {
      const collection = jupyter.createJupyterServerCollection(COLLECTION_ID, COLLECTION_LABEL, {
        onDidChangeServers: this.changed.event,
        provideJupyterServers: () => this.servers(),
        resolveJupyterServer: (server) => this.resolve(server),
      });
      collection.commandProvider = {
        provideCommands: () => [ADD_COMMAND],
        handleCommand: async () => {
          const url = await this.deps.servers.add();
          // Cancelled: back to the picker, as the API asks.
          return url === undefined ? undefined : this.server(url);
        },
      };
      this.collection = collection;
    } catch (error) {
      this.deps.log.warn(
        `The Jupyter extension's kernel picker could not list Notebook Secrets' servers: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** The servers, with the connection details the Jupyter extension needs. */
  async servers(): Promise<JupyterServer[]> {
    return Promise.all(this.deps.servers.saved().map((url) => this.server(url)));
  }

  private async resolve(server: JupyterServer): Promise<JupyterServer | undefined> {
    if (!this.deps.servers.saved().includes(server.id)) return undefined;
    return this.server(server.id);
  }

  private async server(url: string): Promise<JupyterServer> {
    const token = await this.deps.servers.tokenOf(url);
    return {
      id: url,
      label: url,
      connectionInformation: {
        baseUrl: vscode.Uri.parse(url),
        ...(token && { token }),
      },
    };
  }

  private async jupyter(): Promise<Jupyter | undefined> {
    if (this.deps.jupyter) return this.deps.jupyter();
    return findJupyterApi();
  }

  override dispose(): void {
    this.collection?.dispose();
    this.collection = undefined;
    super.dispose();
  }
}
