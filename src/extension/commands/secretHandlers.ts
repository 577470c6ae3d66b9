/**
 * The handlers of SECRET_COMMAND_IDS, the extension's own part of the command table: the
 * commands on secrets, on the view, Share and Configure Team Server, Show Log and the leak
 * guard's two. The root registers them with the notebook and sync parts' handlers.
 */
import type * as vscode from 'vscode';
import type { CommandHandler, SecretCommandId } from '../commandIds';
import type { LeakGuard } from '../leakGuard/leakGuard';
import type { ViewState } from '../views/viewState';
import { secretCommands, type SecretCommandDeps } from './secretCommands';
import { shareCommands, type ShareHandler } from './shareCommands';
import { viewCommands } from './viewCommands';

export interface SecretHandlerDeps extends SecretCommandDeps {
  state: ViewState;
  /** Reads the store again (Refresh). */
  reload(): Promise<unknown>;
  /** The sync client's share handler once signed in. */
  shareHandler(): ShareHandler | undefined;
  /** The leak guard, loaded on first use. */
  leakGuard(): Promise<LeakGuard>;
}

export function secretHandlers(deps: SecretHandlerDeps): Record<SecretCommandId, CommandHandler> {
  const { repository, log, leakGuard } = deps;
  const secrets = secretCommands(deps);
  const view = viewCommands(deps.state, deps.reload);
  const sharing = shareCommands(repository, log, deps.shareHandler);
  return {
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
    'notebookSecrets.scanWorkspace': async () => (await leakGuard()).scanWorkspace(),
    'notebookSecrets.moveHardCodedKey': async (document: vscode.TextDocument, at: number) =>
      (await leakGuard()).moveKey(document, at),
  };
}
