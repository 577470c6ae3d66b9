/**
 * The sync client's side of the extension, loaded when first used (a bundle chunk of its own, see
 * registerSync.ts): the session, the sync commands, sync on start / window focus / every
 * `notebookSecrets.sync.intervalMinutes`, the Share handler, and the URI handler a browser sign-in
 * comes back through (signInReturn.ts).
 */
import * as vscode from 'vscode';
import { targetSecret } from '../views/pickSecret';
import type { SyncCommandId } from '../commandIds';
import type { SyncDeps } from './registerSync';
import { SignInUriHandler, signInReturn } from './signInReturn';
import { shareHandler } from './shareHandler';
import { syncCommands } from './syncCommands';
import { SyncSession, type SessionState } from './syncSession';
import { affects, setting } from '../settings';

export interface SyncRuntime {
  commands: Record<SyncCommandId, (...args: never[]) => unknown>;
}

export function startSync(
  deps: SyncDeps & {
    activeProject(): string | undefined;
    setActiveProject(project: string | undefined): Promise<void>;
    /** Called with the session's state whenever it changes. */
    onState(state: SessionState): void;
  },
): SyncRuntime {
  const { context, store, log, activeProject } = deps;
  const intervalMinutes = () => setting('sync.intervalMinutes');
  const session = new SyncSession({
    secrets: context.secrets,
    store,
    log,
    intervalMinutes,
    ...(deps.fetch && { fetch: deps.fetch }),
  });
  const refresh = () => {
    deps.onState(session.state);
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
      await deps.setActiveProject(project);
      refresh();
    },
    targetSecret: (arg, title) => targetSecret(store, arg, title),
    ...(returnTo && { signInReturn: returnTo }),
  });

  context.subscriptions.push(
    session,
    session.onDidChange(refresh),
    vscode.window.registerUriHandler(uriHandler),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) session.syncIfStale();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affects(e, 'sync.intervalMinutes')) session.applyInterval();
    }),
  );
  refresh();
  void session.restore().then(refresh);
  return { commands };
}
