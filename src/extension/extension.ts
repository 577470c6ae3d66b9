/** The composition root: builds the services once, registers commands and views. No logic here. */
import * as vscode from 'vscode';
import type { CommandHandler, CommandId, SecretCommandId } from './commandIds';
import { DIRECT_CALLS, useJupyterCalls, type JupyterCalls } from './jupyterCalls';
import { registerCommand } from './registerCommand';
import { secretCommands } from './commands/secretCommands';
import { shareCommands, type ShareHandler } from './commands/shareCommands';
import { viewCommands } from './commands/viewCommands';
import type { LeakGuard } from './leakGuard/leakGuard';
import { NotebookChoiceStore } from './needs/notebookChoiceStore';
import { NotebookNeeds } from './needs/notebookNeeds';
import { registerNotebookSupport } from './kernels/notebookSupport';
import { repositorySource } from './storage/brokerSource';
import { registerSync } from './sync/registerSync';
import { SecretStorageRepository } from './storage/secretRepository';
import { SecretsTreeProvider } from './views/secretsTree';
import { ViewState } from './views/viewState';
import { setting } from './settings';

export interface NotebookSecretsApi {
  /** Lets the sync client take over sharing once signed in. */
  setShareHandler(handler: ShareHandler | undefined): void;
  /**
   * Resolves once what starts right after activation has started: the leak guard, and the sync
   * client when a sign-in was saved (both are loaded after activation returns).
   */
  ready(): Promise<void>;
}

export async function activate(
  context: vscode.ExtensionContext,
  jupyterCalls: JupyterCalls = DIRECT_CALLS,
): Promise<NotebookSecretsApi> {
  useJupyterCalls(jupyterCalls);
  const log = vscode.window.createOutputChannel('Notebook Secrets', { log: true });
  const state = new ViewState();
  // The tree exists before the first load, which reports its failures through it.
  const storage = new SecretStorageRepository(context.secrets, log, (m) => tree.setLoadError(m));
  const repository = storage.store;
  // get_secret resolves within the team server's active project, known once sync is set up.
  let activeProject: () => string | undefined = () => undefined;
  const choices = new NotebookChoiceStore(log);
  const needs = new NotebookNeeds({
    repository,
    activeProject: () => activeProject(),
    addSecret: (name) => vscode.commands.executeCommand('notebookSecrets.addNeeded', name),
    choices,
  });
  const tree = new SecretsTreeProvider(repository, state, needs);
  // The leak guard and its scanner are read after activation (a chunk of their own).
  let leakGuard: Promise<LeakGuard> | undefined;
  const startLeakGuard = () =>
    (leakGuard ??= import('./leakGuard/leakGuard').then((m) => {
      const guard = m.startLeakGuard({ repository, log });
      context.subscriptions.push(guard);
      return guard;
    }));
  const treeView = vscode.window.createTreeView('notebookSecrets.secrets', {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  const describeView = () => {
    treeView.description = state.describeFilter();
    const { shown, total } = tree.counts();
    treeView.message =
      state.describeFilter() && shown > 0 ? `Showing ${shown} of ${total} secrets.` : undefined;
  };
  let shareHandler: ShareHandler | undefined;

  const secrets = secretCommands({
    repository,
    log,
    clipboardClearSeconds: () => setting('clipboard.clearAfterSeconds'),
  });
  const view = viewCommands(state, () => storage.reload());
  const sharing = shareCommands(repository, log, () => shareHandler);

  const secretHandlers: Record<SecretCommandId, CommandHandler> = {
    'notebookSecrets.new': () => secrets.newSecret(),
    'notebookSecrets.addNeeded': secrets.newSecret,
    'notebookSecrets.newFromFile': secrets.newSecretFromFile,
    'notebookSecrets.edit': secrets.edit,
    'notebookSecrets.reveal': secrets.reveal,
    'notebookSecrets.copy': secrets.copy,
    'notebookSecrets.delete': secrets.remove,
    'notebookSecrets.share': sharing.share,
    'notebookSecrets.insertGetSecret': secrets.insertGetSecret,
    'notebookSecrets.refresh': view.refresh,
    'notebookSecrets.filter': view.filter,
    'notebookSecrets.filterByType': view.filterByType,
    'notebookSecrets.clearFilter': view.clearFilter,
    'notebookSecrets.groupBy': view.groupBy,
    'notebookSecrets.configureServer': sharing.configureServer,
    'notebookSecrets.showLog': () => log.show(),
    'notebookSecrets.scanWorkspace': async () => (await startLeakGuard()).scanWorkspace(),
    'notebookSecrets.moveHardCodedKey': async (document: vscode.TextDocument, at: number) =>
      (await startLeakGuard()).moveKey(document, at),
  };

  context.subscriptions.push(
    log,
    state,
    storage,
    needs,
    tree,
    treeView,
    repository.onDidChange(describeView),
    state.onDidChange(describeView),
  );

  const sync = registerSync({
    context,
    store: repository,
    log,
    setShareHandler: (handler) => (shareHandler = handler),
  });
  activeProject = sync.activeProject;
  const notebooks = registerNotebookSupport({
    context,
    source: repositorySource(repository, sync.activeProject),
    log,
    choices,
    secretNames: () => [...new Set(repository.list().map((s) => s.name))],
  });

  // Every command, registered once through one wrapper: a missing handler does not compile.
  const commands: Record<CommandId, CommandHandler> = {
    ...secretHandlers,
    ...notebooks.commands,
    ...sync.commands,
  };
  context.subscriptions.push(
    notebooks,
    ...Object.entries(commands).map(([id, handler]) => registerCommand(id, handler, log)),
  );

  await storage.reload();
  needs.start();
  setTimeout(() => void startLeakGuard(), 0);
  // Only the view's welcome text waits on it: not worth a round trip to the window at activation.
  void vscode.commands.executeCommand('setContext', 'notebookSecrets.loaded', true);
  log.info(`Notebook Secrets activated with ${repository.list().length} secret(s).`);

  return {
    setShareHandler: (handler) => (shareHandler = handler),
    ready: async () => {
      await Promise.all([startLeakGuard(), sync.started()]);
    },
  };
}

export function deactivate(): void {}
