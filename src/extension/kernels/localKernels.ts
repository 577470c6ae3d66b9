/**
 * get_secret in the kernels of the VS Code Jupyter extension: injects the helper (source, broker
 * endpoint, a token for this kernel; never a value) through `kernels.getKernel(uri)` →
 * `executeCode`, and again after each restart (`onDidChangeStatus`). R kernels get the R helper
 * and the broker's loopback TCP endpoint (base R has no Unix sockets).
 *
 * A local Python kernel can also claim its token by itself, from its first cell (kernelEnvironment.ts):
 * {@link LocalKernels.claim} hands it the notebook's token when the claim names an open notebook
 * whose kernel the user started and is running a cell, and nobody claimed that kernel yet. The
 * next injection through the Jupyter extension (after that cell) then checks that the kernel holds
 * the token it claimed, and replaces it with a new one, so a claim by any other process on this
 * machine stops working and is reported.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Jupyter, Kernel } from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import type { ConsentPolicy } from '../../broker/consent';
import { buildInjectionCode, CLAIM_HELD } from '../../broker/injection';
import { helperLanguage } from '../../broker/kernelLanguage';
import { buildRInjectionCode } from '../../broker/rInjection';
import type { KernelSession, KernelSessions } from '../../broker/kernelSessions';
import {
  accessDenied,
  executeInKernel,
  getJupyterApi,
  getNotebookKernel,
  isKernelAccessRevoked,
} from './jupyterApi';
import { brokerError, type BrokerErrorBody, type ClaimResult } from '../../core/brokerProtocol';
import { notebookLabel } from './manageAccess';
import { UserFacingError } from '../registerCommand';
import { Disposable } from '../disposables';

export interface LocalKernelDeps {
  sessions: KernelSessions;
  consent: ConsentPolicy;
  /** Starts the broker if needed; returns its endpoint. */
  ensureBroker(): Promise<string>;
  helperSource(): string;
  /** The R helper's source, for R kernels. */
  rHelperSource?(): string;
  /** Starts the broker's loopback TCP listener if needed (for R kernels); returns its endpoint. */
  ensureTcpBroker?(): Promise<string>;
  /** The `notebookSecrets.redactOutputs` setting (default on). */
  redactOutputs?(): boolean;
  log: vscode.LogOutputChannel;
  /** Whether kernels may claim tokens by themselves now (trusted workspace, auto-enable on). */
  claimsAllowed?(): boolean;
  /** Called before each injection: the first one explains the Jupyter extension's access dialog. */
  beforeKernelAccess?(): void;
  /** Warns the user that a process other than the notebook's kernel claimed its token. */
  onForeignClaim?(notebook: string): void;
  /** For tests: the Jupyter API. */
  jupyter?: () => Promise<Jupyter>;
}

interface Enabled {
  kernel: Kernel;
  token: string;
  sessionId: string;
  needsInjection: boolean;
  /** The kernel's process claimed `token` by itself since it (re)started; not checked yet. */
  claimed: boolean;
  injecting: Promise<void> | undefined;
  subscription: vscode.Disposable;
}

export class LocalKernels extends Disposable {
  private readonly enabled = new Map<string, Enabled>();
  /** Notebooks whose kernel access the Jupyter extension refused (the user chose Deny). */
  private readonly denied = new Set<string>();

  constructor(private readonly deps: LocalKernelDeps) {
    super();
    this.register(
      vscode.workspace.onDidCloseNotebookDocument((doc) => this.disable(doc.uri.toString())),
    );
  }

  isEnabled(notebook: vscode.Uri): boolean {
    return this.enabled.has(notebook.toString());
  }

  /** Set up through the Jupyter extension, with nothing left to check or re-inject. */
  isSetUp(notebook: vscode.Uri): boolean {
    const entry = this.enabled.get(notebook.toString());
    return !!entry && !entry.needsInjection;
  }

  /**
   * A kernel asks for its notebook's token by itself (`POST /v1/claim`), naming the notebook's
   * file. Granted when that notebook is open here, its kernel was started by the user and is
   * running a cell (the one calling get_secret), and nothing claimed it since it started.
   */
  async claim(file: string): Promise<ClaimResult | BrokerErrorBody> {
    const found = await this.runningNotebook(file);
    if ('error' in found) return found;
    const { key, label, kernel } = found;
    const entry = this.enabled.get(key);
    // Taken once per kernel start, and only until our code ran in it through the Jupyter API.
    if (entry && (entry.kernel !== kernel || !entry.needsInjection || entry.claimed)) {
      this.deps.log.warn(`Refused a second claim for ${label}: its kernel is already set up.`);
      return brokerError(
        'forbidden',
        'Another process already set up get_secret for this notebook since its kernel started: restart the kernel from VS Code.',
      );
    }
    const claimed = entry ?? this.track(key, kernel);
    claimed.claimed = true;
    this.deps.log.info(`get_secret set up from the first call in ${label}`);
    return { token: claimed.token };
  }

  /**
   * The kernel session a setup request with the claim token speaks for (`POST /v1/setup`), under
   * the same conditions as a claim, but issuing no token: a notebook's first cell asks what the
   * notebook chose before it reads any secret, and a notebook that reads none never gets a token.
   */
  async setupSession(file: string): Promise<KernelSession | BrokerErrorBody> {
    const found = await this.runningNotebook(file);
    if ('error' in found) return found;
    const entry = this.enabled.get(found.key);
    return {
      id: entry?.sessionId ?? `setup:${found.key}`,
      notebook: found.key,
      label: found.label,
      createdAt: Date.now(),
    };
  }

  /** The open notebook of `file` whose user-started kernel is running a cell, or why not. */
  private async runningNotebook(
    file: string,
  ): Promise<{ key: string; label: string; kernel: Kernel } | BrokerErrorBody> {
    const refuse = (message: string) => brokerError('forbidden', message);
    if (!vscode.workspace.isTrusted || this.deps.claimsAllowed?.() === false) {
      return refuse(
        "get_secret is not set up by itself in this VS Code window (an untrusted workspace, or notebookSecrets.notebooks.autoEnable is off): run 'Notebook Secrets: Enable get_secret for this notebook'.",
      );
    }
    const notebook = vscode.workspace.notebookDocuments.find(
      (doc) => doc.notebookType === 'jupyter-notebook' && samePath(doc.uri.fsPath, file),
    );
    if (!notebook) {
      return refuse(
        "This kernel's notebook is not open in the VS Code window that started the kernel: open it there and restart the kernel.",
      );
    }
    const key = notebook.uri.toString();
    const label = notebookLabel(key);
    if (this.denied.has(key)) return refuse(deniedMessage());
    let kernel: Kernel | undefined;
    try {
      kernel = await (await (this.deps.jupyter ?? getJupyterApi)()).kernels.getKernel(notebook.uri);
    } catch (error) {
      return refuse(accessDenied(error).message);
    }
    if (!kernel || !(await runningCell(kernel))) {
      this.deps.log.warn(`Refused a claim for ${label}: its kernel is not running a cell.`);
      return refuse(
        "get_secret can set itself up only from a cell of the notebook that VS Code started this kernel for: call it from a cell, or run 'Notebook Secrets: Enable get_secret for this notebook'.",
      );
    }
    return { key, label, kernel };
  }

  private track(key: string, kernel: Kernel): Enabled {
    const { token, session } = this.deps.sessions.issue(key, notebookLabel(key));
    const created: Enabled = {
      kernel,
      token,
      sessionId: session.id,
      needsInjection: true,
      claimed: false,
      injecting: undefined,
      subscription: kernel.onDidChangeStatus((status) => this.onStatus(key, created, status)),
    };
    this.enabled.set(key, created);
    return created;
  }

  /**
   * Enables get_secret in a kernel that just started for the notebook (auto-enable); true when it
   * set it up now. Does nothing for a kernel already set up (a restart re-injects through its
   * status) or one that is neither Python nor R (the command says why to a user who asks).
   */
  async enableStarted(notebook: { uri: vscode.Uri }, kernel: Kernel): Promise<boolean> {
    if (!helperLanguage(kernel.language)) return false;
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
    const entry = this.enabled.get(key) ?? this.track(key, kernel);
    try {
      await this.inject(key, entry);
    } catch (error) {
      this.disable(key);
      if (isKernelAccessRevoked(error)) {
        // Also what the kernel's next get_secret says: its claim is refused from now on.
        this.denied.add(key);
        throw accessDenied(error);
      }
      throw error;
    }
  }

  private onStatus(key: string, entry: Enabled, status: Kernel['status']): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'starting') {
      if (!entry.needsInjection || entry.claimed) {
        // A new kernel process: the helper and the old session's "Allow once" answers are gone.
        this.deps.consent.forgetSession(entry.sessionId);
        entry.needsInjection = true;
        entry.claimed = false;
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
    // needsInjection stays true until the code ran: the kernel may claim its token meanwhile (the
    // Jupyter extension runs this code only after the cell that is running now).
    entry.injecting = (async () => {
      try {
        const redactOutputs = this.deps.redactOutputs?.() ?? true;
        const { rHelperSource, ensureTcpBroker } = this.deps;
        // A claimed token is checked and replaced: whoever else may hold it loses it now.
        const claimed = entry.claimed ? entry.token : undefined;
        if (claimed) entry.token = this.deps.sessions.rotate(claimed) ?? entry.token;
        const code =
          helperLanguage(entry.kernel.language) === 'r' && rHelperSource && ensureTcpBroker
            ? buildRInjectionCode({
                helperSource: rHelperSource(),
                token: entry.token,
                endpoint: await ensureTcpBroker(),
                redactOutputs,
              })
            : buildInjectionCode({
                helperSource: this.deps.helperSource(),
                token: entry.token,
                endpoint: await this.deps.ensureBroker(),
                inband: false,
                redactOutputs,
                ...(claimed && { verifyClaim: sha256(claimed) }),
              });
        this.deps.beforeKernelAccess?.();
        const printed = await executeInKernel(entry.kernel, code);
        this.denied.delete(key);
        // Claimed while this ran (with the token it set): check that claim with one more round.
        entry.needsInjection = entry.claimed && !claimed;
        if (claimed) {
          entry.claimed = false;
          if (!printed.includes(CLAIM_HELD)) {
            this.deps.log.warn(
              `A process other than the kernel of ${notebookLabel(key)} claimed its get_secret token; it no longer works.`,
            );
            this.deps.onForeignClaim?.(notebookLabel(key));
          }
        }
        this.deps.log.info(`get_secret enabled for ${notebookLabel(key)}`);
      } catch (error) {
        entry.needsInjection = true;
        // Its claimed token was replaced: the kernel may claim again (and is checked again).
        entry.claimed = false;
        throw error;
      } finally {
        entry.injecting = undefined;
      }
      if (entry.needsInjection) await this.inject(key, entry);
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

  override dispose(): void {
    for (const key of [...this.enabled.keys()]) this.disable(key);
    super.dispose();
  }
}

/**
 * How long a claim waits to see its kernel busy. The kernel's "busy" reaches the Jupyter extension
 * on the IOPub channel, which may lag behind the claim the running cell sent straight to us.
 */
const BUSY_WAIT_MS = 3000;

/** Whether the kernel is running a cell now, or says so within BUSY_WAIT_MS. */
function runningCell(kernel: Kernel): Promise<boolean> {
  if (kernel.status === 'busy') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (busy: boolean) => {
      clearTimeout(timer);
      listener.dispose();
      resolve(busy);
    };
    const listener = kernel.onDidChangeStatus((status) => {
      if (status === 'busy') done(true);
    });
    const timer = setTimeout(() => done(false), BUSY_WAIT_MS);
  });
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => {
    const full = resolve(p);
    return process.platform === 'win32' || process.platform === 'darwin'
      ? full.toLowerCase()
      : full;
  };
  return norm(a) === norm(b);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function deniedMessage(): string {
  return "VS Code's Jupyter extension denied Notebook Secrets access to this notebook's kernel: allow it with 'Jupyter: Manage Access To Jupyter Kernels', then run the cell again.";
}
