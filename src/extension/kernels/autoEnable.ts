/**
 * get_secret on by itself (`notebookSecrets.notebooks.autoEnable`, default on): in a trusted
 * workspace, each notebook kernel the Jupyter extension starts gets the helper without the
 * "Enable get_secret for this notebook" command. Consent still gates every value; restarts are
 * re-injected by LocalKernels, which watches the kernel's status once it is enabled.
 *
 * The Jupyter extension gives its kernel start event (`kernels.onDidStart`, proposed API) only to
 * the extensions it allows; reading it throws for any other. Where it is given, each kernel is set
 * up as it starts, before its first cell. Where it is refused (the Jupyter extension as published),
 * local Python kernels set get_secret up at their first call (kernelEnvironment.ts), and after a
 * cell of a notebook that uses get_secret has run (the Jupyter API hands out a kernel only then),
 * the kernel is set up through the Jupyter API: this checks a token the kernel claimed and sets
 * up kernels the environment did not reach (R kernels, kernels started before this extension).
 * Kernels already running when the feature turns on (activation, the setting, workspace trust
 * granted) are set up too.
 */
import type { Jupyter, Kernel } from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import { cellLanguage, findNeededSecrets } from '../../core/neededSecrets';
import { readNotebookChoices } from '../../core/notebookChoices';
import { findJupyterApi } from './jupyterApi';
import { notebookLabel } from './manageAccess';
import { affects, setting } from '../settings';
import { Disposable } from '../disposables';

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
    isSetUp(notebook: vscode.Uri): boolean;
  };
  log: vscode.LogOutputChannel;
  /** The Jupyter API, or undefined when the extension is not installed (then: nothing to do). */
  jupyter?: () => Promise<Jupyter | undefined>;
}

const NOTEBOOK_TYPE = 'jupyter-notebook';

/** Whether auto-enable applies now: a trusted workspace and the setting on. */
export function autoEnableActive(): boolean {
  return vscode.workspace.isTrusted && setting('notebooks.autoEnable') !== false;
}

export class AutoEnable extends Disposable {
  private subscribed = false;
  /** Notebooks with a setup under way, so two signals for one start inject once. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: AutoEnableDeps) {
    super();
    this.registerAll(
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affects(e, 'notebooks.autoEnable')) void this.start();
      }),
      vscode.workspace.onDidChangeNotebookDocument((e) => {
        // A cell that finished: the kernel is the user's now, and free to run our code.
        if (e.cellChanges.some((c) => c.executionSummary?.success !== undefined)) {
          void this.tryNotebook(e.notebook);
        }
      }),
    );
  }

  private active(): boolean {
    return autoEnableActive();
  }

  /** Subscribes to kernel starts and sets up the kernels already running. */
  async start(): Promise<void> {
    if (!this.active()) return;
    const jupyter = await this.jupyter();
    if (!jupyter) return;
    if (!this.subscribed) {
      this.subscribed = true;
      this.subscribe(jupyter);
    }
    await Promise.all(vscode.workspace.notebookDocuments.map((doc) => this.tryNotebook(doc)));
  }

  /** Listens to kernel starts where the Jupyter extension allows it; logs which path is in use. */
  private subscribe(jupyter: Jupyter): void {
    let onDidStart: vscode.Event<KernelStartEvent> | undefined;
    let refusal = 'not offered';
    try {
      onDidStart = (jupyter.kernels as { onDidStart?: vscode.Event<KernelStartEvent> }).onDidStart;
    } catch (error) {
      // The published Jupyter extension throws "Proposed API is not supported for extension …".
      refusal = message(error);
    }
    if (onDidStart) {
      this.register(onDidStart((event) => this.onKernelStarted(event)));
      this.deps.log.info(
        'get_secret is set up in each kernel as the Jupyter extension starts it (kernels.onDidStart).',
      );
    } else {
      this.deps.log.info(
        `The Jupyter extension's kernel start event is not available to Notebook Secrets (${refusal}): local Python kernels set get_secret up at its first call, other kernels after their first cell.`,
      );
    }
  }

  private onKernelStarted(event: KernelStartEvent): void {
    if (!this.active()) return;
    const setup = this.setUp(event.uri, event.kernel);
    event.waitUntil?.(setup);
  }

  private async tryNotebook(notebook: vscode.NotebookDocument): Promise<void> {
    if (notebook.notebookType !== NOTEBOOK_TYPE || !this.active()) return;
    if (this.deps.local.isSetUp(notebook.uri) || !usesGetSecret(notebook)) return;
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
}

/**
 * Whether the notebook reads secrets (get_secret, another platform's calls, key-like names from
 * the environment, or names listed for its environment): only then is its kernel worth the
 * Jupyter extension's kernel-access question.
 */
function usesGetSecret(notebook: vscode.NotebookDocument): boolean {
  const metadata = (notebook.metadata as { metadata?: unknown } | undefined)?.metadata;
  if (readNotebookChoices(metadata).environment.length > 0) return true;
  const cells = notebook.getCells().flatMap((cell) => {
    const language = cellLanguage(cell.document.languageId);
    const source = cell.document.getText();
    if (cell.kind !== vscode.NotebookCellKind.Code || !language) return [];
    // An import of the helper reads nothing yet, but says the notebook will.
    if (/\bnotebook_secrets\b/.test(source)) return [{ source: 'get_secret("_")', language }];
    return [{ source, language }];
  });
  return findNeededSecrets(cells).length > 0;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
