/**
 * Everything notebook-side of the extension: the broker for local kernels, consent, the
 * "Enable get_secret for this notebook" command and its automatic twin (autoEnable.ts), "Manage Notebook Access" and remote Jupyter
 * servers. The composition root calls {@link registerNotebookSupport} once.
 */
import * as vscode from 'vscode';
import { ConsentPolicy } from '../../broker/consent';
import { dirname } from 'node:path';
import { helperSourcePath, loadHelperSource, loadRHelperSource } from '../../broker/helperSource';
import { KernelSessions } from '../../broker/kernelSessions';
import { SecretRequestHandler } from '../../broker/requestHandler';
import type { SecretSource } from '../../broker/secretSource';
import type { ClaimGate } from '../../broker/server';
import { KernelSetupHandler } from '../../broker/kernelSetup';
import { brokerError } from '../../core/brokerProtocol';
import { AutoEnable, autoEnableActive } from './autoEnable';
import type { NotebookChoiceStore } from '../needs/notebookChoiceStore';
import { createConsentPrompt } from './consentPrompt';
import { KernelEnvironment } from './kernelEnvironment';
import { JUPYTER_EXTENSION_ID } from './jupyterApi';
import { KernelPickerServers } from './kernelPickerServers';
import { LocalKernels } from './localKernels';
import type { CommandHandler, NotebookCommandId } from '../commandIds';
import { LocalBroker } from './localBroker';
import { notebookCommands } from './notebookCommands';
import { RemoteServers } from './remoteServers';
import { redactOutputs } from './redactOutputs';
import { affects } from '../settings';
import { DisposableStore } from '../disposables';

export interface NotebookSupportDeps {
  context: vscode.ExtensionContext;
  source: SecretSource;
  log: vscode.LogOutputChannel;
  /** The notebooks' choices (serve other platforms' calls, the kernel's environment). */
  choices: NotebookChoiceStore;
  /** The names of the user's secrets, offered for a notebook's environment. */
  secretNames(): string[];
}

/** The notebook side's life, and the handlers of its commands (registered by the root). */
export interface NotebookSupport extends vscode.Disposable {
  commands: Record<NotebookCommandId, CommandHandler>;
}

export function registerNotebookSupport(deps: NotebookSupportDeps): NotebookSupport {
  const { context, source, log, choices } = deps;
  const sessions = new KernelSessions();
  const consent = new ConsentPolicy({ state: context.globalState, ask: createConsentPrompt() });
  const handler = new SecretRequestHandler({ source, consent, log });
  const setup = new KernelSetupHandler({ choices, secrets: handler, consent, log });
  let helper: string | undefined;
  const helperSource = () => (helper ??= loadHelperSource([context.extensionPath]));
  let rHelper: string | undefined;
  const rHelperSource = () => (rHelper ??= loadRHelperSource([context.extensionPath]));

  const kernelEnv = new KernelEnvironment(dirname(helperSourcePath([context.extensionPath])));
  const broker = new LocalBroker({
    sessions,
    handler,
    setup,
    log,
    claims: claimGate(kernelEnv, setup, (): LocalKernels => local),
  });
  const local = new LocalKernels({
    sessions,
    consent,
    ensureBroker: () => broker.ensure(),
    ensureTcpBroker: () => broker.ensureTcp(),
    helperSource,
    rHelperSource,
    redactOutputs,
    log,
    claimsAllowed: autoEnableActive,
    beforeKernelAccess: () => explainKernelAccess(context),
    onForeignClaim: (label) =>
      void vscode.window.showWarningMessage(
        `A process other than the kernel of ${label} set up get_secret in its name since the kernel started; its access has been cut off. Check Manage Notebook Access, and what runs on this machine.`,
      ),
  });
  const remote = new RemoteServers({
    context,
    sessions,
    handler,
    consent,
    helperSource,
    log,
    setup,
  });
  choices.useRemote((session) => remote.notebookChoices(session));
  const auto = new AutoEnable({ local, log });
  const picker = new KernelPickerServers({ servers: remote, log });

  const updateKernelEnv = () => updateKernelEnvironment(kernelEnv, broker, log);
  const disposables = new DisposableStore();
  for (const part of [
    portReadActions(),
    picker,
    auto,
    local,
    remote,
    vscode.workspace.onDidGrantWorkspaceTrust(() => void remote.restore()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void updateKernelEnv()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affects(e, 'notebooks.autoEnable')) void updateKernelEnv();
    }),
    vscode.extensions.onDidChange(() => void updateKernelEnv()),
  ])
    disposables.add(part);
  void updateKernelEnv();
  void remote.restore();
  void auto.start();
  void picker.ensure();

  return {
    commands: notebookCommands({ local, remote, consent, choices, secretNames: deps.secretNames }),
    dispose: () => {
      kernelEnv.uninstall();
      disposables.dispose();
      broker.stop();
    },
  };
}

/**
 * What the broker does with the claim token local kernels inherit: a kernel claims a token of
 * its own, or asks its notebook's choices (naming the notebook) without claiming one.
 */
function claimGate(
  kernelEnv: KernelEnvironment,
  setup: KernelSetupHandler,
  local: () => LocalKernels,
): ClaimGate {
  return {
    accepts: (token) => kernelEnv.accepts(token),
    claim: (request) => local().claim(request.notebook),
    setup: async (body) => {
      const notebook = (body as { notebook?: unknown } | null)?.notebook;
      if (typeof notebook !== 'string') {
        return brokerError('invalid_input', 'A setup with the claim token names its notebook.');
      }
      const session = await local().setupSession(notebook);
      return 'error' in session ? session : setup.setup(session, body);
    },
  };
}

/** The environment local kernels inherit (kernelEnvironment.ts): set while auto-enable applies. */
async function updateKernelEnvironment(
  kernelEnv: KernelEnvironment,
  broker: LocalBroker,
  log: vscode.LogOutputChannel,
): Promise<void> {
  if (!autoEnableActive() || !vscode.extensions.getExtension(JUPYTER_EXTENSION_ID)) {
    kernelEnv.uninstall();
    return;
  }
  if (kernelEnv.installed) return;
  try {
    kernelEnv.install(await broker.ensure());
  } catch (error) {
    log.warn(
      `get_secret cannot be set up in new kernels from their first cell: ${error instanceof Error ? error.message : 'error'}`,
    );
  }
}

/** The quick fixes that rewrite another platform's secret read in a cell (read on first use). */
function portReadActions(): vscode.Disposable {
  return vscode.languages.registerCodeActionsProvider(
    { scheme: 'vscode-notebook-cell', language: 'python' },
    {
      provideCodeActions: async (document, range) =>
        new (await import('../needs/portNotebook')).PortReadActions().provideCodeActions(
          document,
          range,
        ),
    },
    { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
  );
}

const KERNEL_ACCESS_EXPLAINED = 'notebookSecrets.kernelAccessExplained';

/**
 * Said once, before Notebook Secrets first runs code through the Jupyter extension, which then
 * asks the user, in a modal of its own, whether to grant this extension kernel access.
 */
function explainKernelAccess(context: vscode.ExtensionContext): void {
  if (context.globalState.get<boolean>(KERNEL_ACCESS_EXPLAINED)) return;
  void context.globalState.update(KERNEL_ACCESS_EXPLAINED, true);
  void vscode.window.showInformationMessage(
    "Notebook Secrets sets up get_secret in this notebook's kernel through the Jupyter extension, which asks once whether to grant Notebook Secrets kernel access: choose Allow. With Deny, get_secret stops working in notebooks until you allow it with 'Jupyter: Manage Access To Jupyter Kernels'.",
  );
}
