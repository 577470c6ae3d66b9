/**
 * Sync with a team server, behind one call from the composition root. What activation needs is
 * here: the status bar, the active project and the sync commands. The sync client itself (the
 * session, the API client, the engine: syncRuntime.ts) is a bundle chunk of its own, loaded when a
 * sync command first runs, or right after activation when a sign-in was saved.
 */
import * as vscode from 'vscode';
import type { LocalSecretStore } from '../../core/localStore';
import type { SecretMetadata } from '../../core/model';
import { SYNC_COMMAND_IDS, type CommandHandler, type SyncCommandId } from '../commandIds';
import type { SyncRuntime } from './syncRuntime';
import { TOKEN_KEY } from './syncSessionKeys';
import { SyncStatusBar } from './syncStatusBar';

export const ACTIVE_PROJECT_KEY = 'notebookSecrets.activeProject';

export interface SyncDeps {
  context: Pick<vscode.ExtensionContext, 'secrets' | 'subscriptions' | 'workspaceState'>;
  store: LocalSecretStore;
  log: vscode.LogOutputChannel;
  /** The foundation's NotebookSecretsApi.setShareHandler. */
  setShareHandler(handler: ((secret: SecretMetadata) => Promise<void>) | undefined): void;
  /**
   * Settles after the store's first load: the sync client starts (and its first round runs) only
   * then, so it never compares the server with a store not yet read. Default: at once.
   */
  storeLoaded?: PromiseLike<unknown>;
  fetch?: typeof globalThis.fetch;
}

export interface SyncApi {
  /** The workspace's active project, for get_secret precedence (brokerSource). */
  activeProject(): string | undefined;
  onDidChangeActiveProject: vscode.Event<string | undefined>;
  /** The sync client, loaded if it was not yet. */
  load(): Promise<SyncRuntime>;
  /** Resolves once the sync client started, when a sign-in was saved; at once otherwise. */
  started(): Promise<unknown>;
  /** The sync commands' handlers (registered by the root): each loads the sync client first. */
  commands: Record<SyncCommandId, CommandHandler>;
}

export function registerSync(deps: SyncDeps): SyncApi {
  const { context, log } = deps;
  const statusBar = new SyncStatusBar();
  const projectChanged = new vscode.EventEmitter<string | undefined>();
  const activeProject = () => context.workspaceState.get<string>(ACTIVE_PROJECT_KEY);
  let signedIn = false;
  const show = (state: Parameters<SyncStatusBar['show']>[0]) => {
    statusBar.show(state, activeProject());
    if (state.signedIn !== signedIn) {
      signedIn = state.signedIn;
      void vscode.commands.executeCommand('setContext', 'notebookSecrets.signedIn', signedIn);
    }
  };
  let runtime: Promise<SyncRuntime> | undefined;
  const load = () =>
    (runtime ??= Promise.all([import('./syncRuntime'), deps.storeLoaded]).then(([{ startSync }]) =>
      startSync({
        ...deps,
        activeProject,
        setActiveProject: async (project) => {
          await context.workspaceState.update(ACTIVE_PROJECT_KEY, project);
          log.info(project ? `Active project: ${project}.` : 'No active project.');
          projectChanged.fire(project);
        },
        onState: show,
      }),
    ));

  context.subscriptions.push(statusBar, projectChanged);
  const commands = Object.fromEntries(
    SYNC_COMMAND_IDS.map((id) => [
      id,
      async (...args: never[]) => (await load()).commands[id](...args),
    ]),
  ) as Record<SyncCommandId, CommandHandler>;
  show({ signedIn: false });
  // Signed in before: the session comes back at once, after activation.
  const restored = Promise.resolve(context.secrets.get(TOKEN_KEY)).then((saved) =>
    saved ? load() : undefined,
  );
  return {
    activeProject,
    onDidChangeActiveProject: projectChanged.event,
    load,
    started: () => restored,
    commands,
  };
}
