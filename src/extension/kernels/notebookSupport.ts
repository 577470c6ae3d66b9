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
import { BrokerServer } from '../../broker/server';
import { KernelSetupHandler } from '../../broker/kernelSetup';
import { brokerError } from '../../core/brokerProtocol';
import { AutoEnable, autoEnableActive } from './autoEnable';
import { choosePlatformCalls, setKernelEnvironment } from '../needs/notebookChoiceCommands';
import type { NotebookChoiceStore } from '../needs/notebookChoiceStore';
import { PortReadActions, portNotebook } from '../needs/portNotebook';
import { createConsentPrompt } from './consentPrompt';
import { KernelEnvironment } from './kernelEnvironment';
import { JUPYTER_EXTENSION_ID } from './jupyterApi';
import { KernelPickerServers } from './kernelPickerServers';
import { LocalKernels } from './localKernels';
import { manageNotebookAccess } from './manageAccess';
import type { CommandHandler, NotebookCommandId } from '../commandIds';
import { RemoteServers } from './remoteServers';
import { UserFacingError } from '../registerCommand';
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
  let broker: BrokerServer | undefined;
  let starting: Promise<string> | undefined;
  const ensureBroker = (): Promise<string> => {
    if (broker?.endpoint) return Promise.resolve(broker.endpoint);
    starting ??= (async () => {
      const server = new BrokerServer({
        sessions,
        handler,
        setup,
        log,
        claims: {
          accepts: (token) => kernelEnv.accepts(token),
          claim: (request) => local.claim(request.notebook),
          setup: async (body) => {
            const notebook = (body as { notebook?: unknown } | null)?.notebook;
            if (typeof notebook !== 'string') {
              return brokerError(
                'invalid_input',
                'A setup with the claim token names its notebook.',
              );
            }
            const session = await local.setupSession(notebook);
            return 'error' in session ? session : setup.setup(session, body);
          },
        },
      });
      try {
        await server.start();
      } catch (error) {
        starting = undefined;
        throw new UserFacingError(
          `The Notebook Secrets broker could not start (${error instanceof Error ? error.message : 'error'}).`,
        );
      }
      broker = server;
      return server.endpoint;
    })();
    return starting;
  };
  const ensureTcpBroker = async (): Promise<string> => {
    await ensureBroker();
    try {
      return await broker!.tcpEndpoint();
    } catch (error) {
      throw new UserFacingError(
        `The Notebook Secrets broker could not listen on 127.0.0.1 for R kernels (${error instanceof Error ? error.message : 'error'}).`,
      );
    }
  };

  const local = new LocalKernels({
    sessions,
    consent,
    ensureBroker,
    ensureTcpBroker,
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

  const enable = async (arg?: unknown): Promise<void> => {
    const notebook = notebookFrom(arg);
    if (!notebook) {
      throw new UserFacingError('Open a Jupyter notebook first, then run this command from it.');
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Enabling get_secret…' },
      () => local.enable(notebook),
    );
    void vscode.window.showInformationMessage(
      "get_secret is enabled in this notebook's kernel: use get_secret('NAME') in a cell.",
    );
  };

  const commands: Record<NotebookCommandId, (arg?: unknown) => Promise<unknown>> = {
    'notebookSecrets.enableGetSecret': enable,
    'notebookSecrets.manageNotebookAccess': () => manageNotebookAccess(consent),
    'notebookSecrets.addJupyterServer': () => remote.add(),
    'notebookSecrets.removeJupyterServer': () => remote.remove(),
    'notebookSecrets.portNotebook': (arg) => portNotebook(notebookFrom(arg)),
    'notebookSecrets.setKernelEnvironment': (arg) =>
      setKernelEnvironment(notebookFrom(arg), choices, deps.secretNames),
    'notebookSecrets.choosePlatformCalls': (arg) => choosePlatformCalls(notebookFrom(arg), choices),
  };
  const disposables = new DisposableStore();
  // The environment local kernels inherit (kernelEnvironment.ts): set while auto-enable applies.
  const updateKernelEnv = async (): Promise<void> => {
    if (!autoEnableActive() || !vscode.extensions.getExtension(JUPYTER_EXTENSION_ID)) {
      kernelEnv.uninstall();
      return;
    }
    if (kernelEnv.installed) return;
    try {
      kernelEnv.install(await ensureBroker());
    } catch (error) {
      log.warn(
        `get_secret cannot be set up in new kernels from their first cell: ${error instanceof Error ? error.message : 'error'}`,
      );
    }
  };
  for (const part of [
    vscode.languages.registerCodeActionsProvider(
      { scheme: 'vscode-notebook-cell', language: 'python' },
      new PortReadActions(),
      { providedCodeActionKinds: PortReadActions.kinds },
    ),
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
    commands,
    dispose: () => {
      kernelEnv.uninstall();
      disposables.dispose();
      void broker?.stop();
    },
  };
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

/** The notebook a command is about: its argument (toolbar passes one), else the active one. */
function notebookFrom(arg: unknown): vscode.NotebookDocument | undefined {
  const candidate = arg as { notebookEditor?: { notebookUri?: vscode.Uri }; uri?: vscode.Uri };
  const uri =
    candidate?.notebookEditor?.notebookUri ?? (arg instanceof vscode.Uri ? arg : undefined);
  if (uri) {
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc) return doc;
  }
  return vscode.window.activeNotebookEditor?.notebook;
}
