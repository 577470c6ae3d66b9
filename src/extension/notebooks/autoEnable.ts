/**
 * get_secret on by itself (`notebookSecrets.notebooks.autoEnable`, default on): in a trusted
 * workspace, each notebook kernel the Jupyter extension starts gets the helper without the
 * "Enable get_secret for this notebook" command. Consent still gates every value; restarts are
 * re-injected by LocalKernels, which watches the kernel's status once it is enabled.
 *
 * The Jupyter extension's `kernels.onDidStart` (start and restart) is the signal; where its API
 * does not offer it, a cell that has run (the kernel is up) and kernels already running when the
 * feature turns on (activation, the setting, workspace trust granted) are.
 */
import type { Jupyter, Kernel } from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import { findJupyterApi } from './jupyterApi';
import { notebookLabel } from './manageAccess';

/** `kernels.onDidStart` of the Jupyter extension's API, where it has it. */
export interface KernelStartEvent {
  uri: vscode.Uri;
  kernel: Kernel;
  /** Holds the kernel's first user code back until the thenable settles (where offered). */
  waitUntil?(thenable: Thenable<unknown>): void;
}

export interface AutoEnableDeps {
  local: {
    enableStarted(notebook: { uri: vscode.Uri }, kernel: Kernel): Promise<boolean>;
    isEnabled(notebook: vscode.Uri): boolean;
  };
  log: vscode.LogOutputChannel;
  /** The Jupyter API, or undefined when the extension is not installed (then: nothing to do). */
  jupyter?: () => Promise<Jupyter | undefined>;
}

export const AUTO_ENABLE_SETTING = 'notebooks.autoEnable';
const NOTEBOOK_TYPE = 'jupyter-notebook';

export class AutoEnable implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private subscribed = false;
  /** Notebooks with a setup under way, so two signals for one start inject once. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: AutoEnableDeps) {
    this.disposables.push(
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`notebookSecrets.${AUTO_ENABLE_SETTING}`)) void this.start();
      }),
      vscode.workspace.onDidChangeNotebookDocument((e) => {
        if (e.cellChanges.some((c) => c.executionSummary !== undefined)) {
          void this.tryNotebook(e.notebook);
        }
      }),
    );
  }

  /** Whether auto-enable applies now: a trusted workspace and the setting on. */
  private active(): boolean {
    return (
      vscode.workspace.isTrusted &&
      vscode.workspace
        .getConfiguration('notebookSecrets')
        .get<boolean>(AUTO_ENABLE_SETTING, true) !== false
    );
  }

  /** Subscribes to kernel starts and sets up the kernels already running. */
  async start(): Promise<void> {
    if (!this.active()) return;
    const jupyter = await this.jupyter();
    if (!jupyter) return;
    const onDidStart = (jupyter.kernels as { onDidStart?: vscode.Event<KernelStartEvent> })
      .onDidStart;
    if (!this.subscribed && onDidStart) {
      this.subscribed = true;
      this.disposables.push(onDidStart((event) => this.onKernelStarted(event)));
    }
    await Promise.all(vscode.workspace.notebookDocuments.map((doc) => this.tryNotebook(doc)));
  }

  private onKernelStarted(event: KernelStartEvent): void {
    if (!this.active()) return;
    const setup = this.setUp(event.uri, event.kernel);
    event.waitUntil?.(setup);
  }

  private async tryNotebook(notebook: vscode.NotebookDocument): Promise<void> {
    if (notebook.notebookType !== NOTEBOOK_TYPE || !this.active()) return;
    if (this.deps.local.isEnabled(notebook.uri)) return;
    const jupyter = await this.jupyter();
    let kernel: Kernel | undefined;
    try {
      kernel = await jupyter?.kernels.getKernel(notebook.uri);
    } catch (error) {
      // Kernel access refused: the command explains it; here it is only worth a line.
      this.deps.log.debug(
        `get_secret not set up by itself for ${notebookLabel(notebook.uri.toString())}: ${message(error)}`,
      );
      return;
    }
    if (kernel && kernel.status !== 'dead' && kernel.status !== 'terminating') {
      await this.setUp(notebook.uri, kernel);
    }
  }

  /** Sets up one kernel; never throws (a failure is logged, and the command still works). */
  private setUp(uri: vscode.Uri, kernel: Kernel): Promise<unknown> {
    const key = uri.toString();
    const running = this.pending.get(key);
    if (running) return running;
    const setup = this.deps.local
      .enableStarted({ uri }, kernel)
      .then((done) => {
        if (done) this.deps.log.info(`get_secret set up by itself for ${notebookLabel(key)}`);
      })
      .catch((error: unknown) =>
        this.deps.log.warn(
          `Setting up get_secret by itself for ${notebookLabel(key)} failed: ${message(error)} Run "Enable get_secret for this notebook" to see why.`,
        ),
      )
      .finally(() => this.pending.delete(key));
    this.pending.set(key, setup);
    return setup;
  }

  private async jupyter(): Promise<Jupyter | undefined> {
    if (this.deps.jupyter) return this.deps.jupyter();
    return findJupyterApi((m) => this.deps.log.warn(m));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
