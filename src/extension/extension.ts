/** The composition root: builds the services once, registers commands and views. No logic here. */
import * as vscode from 'vscode';
import { describeError } from '../broker/describeError';
import type { CommandHandler, CommandId } from './commandIds';
import { DIRECT_CALLS, useJupyterCalls, type JupyterCalls } from './jupyterCalls';
import { registerCommand } from './registerCommand';
import { secretHandlers } from './commands/secretHandlers';
import type { ShareHandler } from './commands/shareCommands';
import type { LeakGuard } from './leakGuard/leakGuard';
import { NotebookChoiceStore } from './needs/notebookChoiceStore';
import { NotebookNeeds } from './needs/notebookNeeds';
import { registerNotebookSupport } from './kernels/notebookSupport';
import { repositorySource } from './storage/brokerSource';
import { registerSync } from './sync/registerSync';
import { SecretStorageRepository, type SecretRepository } from './storage/secretRepository';
import { SecretsTreeProvider } from './views/secretsTree';
import { createSecretsView } from './views/secretsView';
import { ViewState } from './views/viewState';
import { setting } from './settings';

export interface NotebookSecretsApi {
  /** Lets the sync client take over sharing once signed in. */
  setShareHandler(handler: ShareHandler | undefined): void;
  /**
   * Resolves once what starts right after activation has started: the store's first load and
   * what follows it (the "This Notebook" group, the view's welcome text), the leak guard, and
   * the sync client when a sign-in was saved (all of them after activation returns).
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
  const storage = SecretStorageRepository.forContext(context, log, (m) => tree.setLoadError(m));
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
  let shareHandler: ShareHandler | undefined;
  const leakGuard = lazyLeakGuard(context, repository, log);

  context.subscriptions.push(
    log,
    state,
    storage,
    needs,
    tree,
    ...createSecretsView(tree, state, repository),
  );

  const sync = registerSync({
    context,
    store: repository,
    log,
    setShareHandler: (handler) => (shareHandler = handler),
    storeLoaded: storage.loaded,
  });
  activeProject = sync.activeProject;
  const notebooks = registerNotebookSupport({
    context,
    source: repositorySource(repository, sync.activeProject, storage.loaded),
    log,
    choices,
    secretNames: () => [...new Set(repository.list().map((s) => s.name))],
  });

  // Every command, registered once through one wrapper: a missing handler does not compile. Each
  // waits for the store's first load before its handler runs.
  const commands: Record<CommandId, CommandHandler> = {
    ...secretHandlers({
      repository,
      log,
      clipboardClearSeconds: () => setting('clipboard.clearAfterSeconds'),
      state,
      reload: () => storage.reload(),
      shareHandler: () => shareHandler,
      leakGuard,
    }),
    ...notebooks.commands,
    ...sync.commands,
  };
  context.subscriptions.push(
    notebooks,
    ...Object.entries(commands).map(([id, handler]) =>
      registerCommand(id, handler, log, storage.loaded),
    ),
  );

  // The first load is a SecretStorage round trip (to the browser and back in VS Code for the
  // Web): activation starts it and returns. What reads secrets waits on `storage.loaded`, and
  // what starts after the load is chained on it. A failed load settles it too, reported in the
  // tree and the log by reload().
  void storage.reload();
  const started = storage.loaded
    .then(() => {
      needs.start();
      setTimeout(() => void leakGuard(), 0);
      // Shows the view's welcome text: an empty tree before the load is not "No secrets yet".
      void vscode.commands.executeCommand('setContext', 'notebookSecrets.loaded', true);
      log.info(`Notebook Secrets activated with ${repository.list().length} secret(s).`);
    })
    .catch((error: unknown) => {
      log.error(`Starting after the first load failed: ${describeError(error)}`);
    });

  return {
    setShareHandler: (handler) => (shareHandler = handler),
    ready: async () => {
      await Promise.all([started, leakGuard(), sync.started()]);
    },
  };
}

/** The leak guard and its scanner, read after activation (a chunk of their own) on first use. */
function lazyLeakGuard(
  context: vscode.ExtensionContext,
  repository: SecretRepository,
  log: vscode.LogOutputChannel,
): () => Promise<LeakGuard> {
  let leakGuard: Promise<LeakGuard> | undefined;
  return () =>
    (leakGuard ??= import('./leakGuard/leakGuard').then((m) => {
      const guard = m.startLeakGuard({ repository, log });
      context.subscriptions.push(guard);
      return guard;
    }));
}

export function deactivate(): void {}
