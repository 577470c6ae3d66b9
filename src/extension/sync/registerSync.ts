/**
 * Everything the extension needs for sync with a team server, behind one call from the
 * composition root: the session, the status bar, the commands, sync on start / window focus /
 * every `notebookSecrets.sync.intervalMinutes`, the Share handler, the active project, and the
 * URI handler a browser sign-in comes back through.
 */
import * as vscode from 'vscode';
import type { LocalSecretStore } from '../../core/localStore';
import type { SecretMetadata } from '../../core/model';
import { targetSecret } from '../commands/pickSecret';
import { registerCommand } from '../commands/registerCommand';
import { SignInUriHandler, signInReturn } from './signInReturn';
import { SYNC_COMMAND_IDS, shareHandler, syncCommands } from './syncCommands';
import { SyncSession } from './syncSession';
import { SyncStatusBar } from './syncStatusBar';

export const ACTIVE_PROJECT_KEY = 'notebookSecrets.activeProject';

export interface SyncDeps {
  context: Pick<vscode.ExtensionContext, 'secrets' | 'subscriptions' | 'workspaceState'>;
  store: LocalSecretStore;
  log: vscode.LogOutputChannel;
  /** The foundation's NotebookSecretsApi.setShareHandler. */
  setShareHandler(handler: ((secret: SecretMetadata) => Promise<void>) | undefined): void;
  fetch?: typeof globalThis.fetch;
}

export interface SyncApi {
  session: SyncSession;
  /** The workspace's active project, for get_secret precedence (brokerSource). */
  activeProject(): string | undefined;
  onDidChangeActiveProject: vscode.Event<string | undefined>;
}

export function registerSync(deps: SyncDeps): SyncApi {
  const { context, store, log } = deps;
  const intervalMinutes = () =>
    vscode.workspace.getConfiguration('notebookSecrets').get<number>('sync.intervalMinutes', 5);
  const session = new SyncSession({
    secrets: context.secrets,
    store,
    log,
    intervalMinutes,
    ...(deps.fetch && { fetch: deps.fetch }),
  });
  const statusBar = new SyncStatusBar();
  const projectChanged = new vscode.EventEmitter<string | undefined>();
  const activeProject = () => context.workspaceState.get<string>(ACTIVE_PROJECT_KEY);
  const refresh = () => {
    statusBar.show(session.state, activeProject());
    void vscode.commands.executeCommand(
      'setContext',
      'notebookSecrets.signedIn',
      session.state.signedIn,
    );
    deps.setShareHandler(session.state.signedIn ? shareHandler(session) : undefined);
  };

  const uriHandler = new SignInUriHandler(log);
  const returnTo = signInReturn(uriHandler);
  const commands = syncCommands({
    session,
    store,
    log,
    activeProject,
    setActiveProject: async (project) => {
      await context.workspaceState.update(ACTIVE_PROJECT_KEY, project);
      log.info(project ? `Active project: ${project}.` : 'No active project.');
      projectChanged.fire(project);
      refresh();
    },
    targetSecret: (arg, title) => targetSecret(store, arg, title),
    ...(returnTo && { signInReturn: returnTo }),
  });

  context.subscriptions.push(
    session,
    statusBar,
    projectChanged,
    session.onDidChange(refresh),
    ...SYNC_COMMAND_IDS.map((id) => registerCommand(id, commands[id], log)),
    vscode.window.registerUriHandler(uriHandler),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) session.syncIfStale();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('notebookSecrets.sync.intervalMinutes')) session.applyInterval();
    }),
  );
  refresh();
  void session.restore().then(refresh);
  return { session, activeProject, onDidChangeActiveProject: projectChanged.event };
}
