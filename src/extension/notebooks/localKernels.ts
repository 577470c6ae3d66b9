/**
 * get_secret in the kernels of the VS Code Jupyter extension: injects the helper (source, broker
 * endpoint, a token for this kernel; never a value) through `kernels.getKernel(uri)` →
 * `executeCode`, and again after each restart (`onDidChangeStatus`).
 */
import type { Jupyter, Kernel } from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import type { ConsentPolicy } from '../../broker/consent';
import { buildInjectionCode } from '../../broker/injection';
import type { KernelSessions } from '../../broker/kernelSessions';
import { executeInKernel, getJupyterApi, getNotebookKernel } from './jupyterApi';
import { notebookLabel } from './manageAccess';
import { UserFacingError } from './userError';

export interface LocalKernelDeps {
  sessions: KernelSessions;
  consent: ConsentPolicy;
  /** Starts the broker if needed; returns its endpoint. */
  ensureBroker(): Promise<string>;
  helperSource(): string;
  /** The `notebookSecrets.redactOutputs` setting (default on). */
  redactOutputs?(): boolean;
  log: vscode.LogOutputChannel;
  /** For tests: the Jupyter API. */
  jupyter?: () => Promise<Jupyter>;
}

interface Enabled {
  kernel: Kernel;
  token: string;
  sessionId: string;
  needsInjection: boolean;
  injecting: Promise<void> | undefined;
  subscription: vscode.Disposable;
}

export class LocalKernels implements vscode.Disposable {
  private readonly enabled = new Map<string, Enabled>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: LocalKernelDeps) {
    this.disposables.push(
      vscode.workspace.onDidCloseNotebookDocument((doc) => this.disable(doc.uri.toString())),
    );
  }

  isEnabled(notebook: vscode.Uri): boolean {
    return this.enabled.has(notebook.toString());
  }

  /**
   * Enables get_secret in a kernel that just started for the notebook (auto-enable); true when it
   * set it up now. Does nothing for a kernel already set up (a restart re-injects through its
   * status) or one that is not Python (the command says why to a user who asks).
   */
  async enableStarted(notebook: { uri: vscode.Uri }, kernel: Kernel): Promise<boolean> {
    if (kernel.language !== 'python') return false;
    const entry = this.enabled.get(notebook.uri.toString());
    if (entry && entry.kernel === kernel && !entry.needsInjection) {
      await entry.injecting;
      return false;
    }
    await this.enable(notebook, kernel);
    return true;
  }

  /** Enables get_secret in the notebook's running kernel; throws errors the user can act on. */
  async enable(notebook: { uri: vscode.Uri }, started?: Kernel): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      throw new UserFacingError(
        'get_secret is not available in an untrusted workspace: trust this folder first.',
        [
          {
            title: 'Manage Workspace Trust',
            run: () => vscode.commands.executeCommand('workbench.trust.manage'),
          },
        ],
      );
    }
    const kernel =
      started ?? (await getNotebookKernel(await (this.deps.jupyter ?? getJupyterApi)(), notebook));
    const key = notebook.uri.toString();
    const previous = this.enabled.get(key);
    if (previous && previous.kernel !== kernel) this.disable(key);
    let entry = this.enabled.get(key);
    if (!entry) {
      const { token, session } = this.deps.sessions.issue(key, notebookLabel(key));
      const created: Enabled = {
        kernel,
        token,
        sessionId: session.id,
        needsInjection: true,
        injecting: undefined,
        subscription: kernel.onDidChangeStatus((status) => this.onStatus(key, created, status)),
      };
      entry = created;
      this.enabled.set(key, entry);
    }
    try {
      await this.inject(key, entry);
    } catch (error) {
      this.disable(key);
      throw error;
    }
  }

  private onStatus(key: string, entry: Enabled, status: Kernel['status']): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'starting') {
      if (!entry.needsInjection) {
        // A new kernel process: the helper and the old session's "Allow once" answers are gone.
        this.deps.consent.forgetSession(entry.sessionId);
        entry.needsInjection = true;
      }
    } else if (status === 'idle' && entry.needsInjection && !entry.injecting) {
      this.inject(key, entry).catch((error: unknown) =>
        this.deps.log.warn(
          `Re-enabling get_secret after a restart of ${notebookLabel(key)} failed: ${error instanceof Error ? error.message : 'error'}`,
        ),
      );
    } else if (status === 'dead') {
      this.disable(key);
    }
  }

  private inject(key: string, entry: Enabled): Promise<void> {
    if (entry.injecting) return entry.injecting;
    entry.needsInjection = false;
    entry.injecting = (async () => {
      try {
        const endpoint = await this.deps.ensureBroker();
        const code = buildInjectionCode({
          helperSource: this.deps.helperSource(),
          token: entry.token,
          endpoint,
          inband: false,
          redactOutputs: this.deps.redactOutputs?.() ?? true,
        });
        await executeInKernel(entry.kernel, code);
        this.deps.log.info(`get_secret enabled for ${notebookLabel(key)}`);
      } catch (error) {
        entry.needsInjection = true;
        throw error;
      } finally {
        entry.injecting = undefined;
      }
    })();
    return entry.injecting;
  }

  /** Forgets a notebook: its token stops working at once. */
  disable(key: string): void {
    const entry = this.enabled.get(key);
    if (!entry) return;
    entry.subscription.dispose();
    this.deps.sessions.revoke(entry.token);
    this.deps.consent.forgetSession(entry.sessionId);
    this.enabled.delete(key);
  }

  dispose(): void {
    for (const key of [...this.enabled.keys()]) this.disable(key);
    for (const d of this.disposables) d.dispose();
  }
}
