/** Version History: a secret's versions on the team server (never values), and restoring one. */
import * as vscode from 'vscode';
import {
  ensureSignedIn,
  refuseIfReader,
  requireClient,
  type SyncCommandDeps,
  type SyncHandlers,
} from './syncCommandDeps';

export function historyCommands(
  deps: SyncCommandDeps,
): SyncHandlers<'notebookSecrets.showHistory'> {
  return { 'notebookSecrets.showHistory': (arg?: unknown) => showHistory(deps, arg) };
}

async function showHistory(deps: SyncCommandDeps, arg?: unknown): Promise<void> {
  const { session } = deps;
  if (!(await ensureSignedIn(session))) return;
  const api = requireClient(session);
  const secret = await deps.targetSecret(arg, 'Secret whose history to show');
  const versions = await api.versions(secret.id);
  const picked = await vscode.window.showQuickPick(
    versions.map((v) => ({
      label: `v${v.version}`,
      description: `${v.kind} by ${v.author}`,
      detail: `${new Date(v.at).toLocaleString()}${v.restorable ? '' : ' · value no longer kept'}`,
      version: v,
    })),
    {
      title: `History of '${secret.name}' (no values)`,
      placeHolder: 'Pick a version to restore it',
    },
  );
  if (!picked || picked.version.version === secret.version) return;
  if (!picked.version.restorable) {
    void vscode.window.showInformationMessage(
      `The value of v${picked.version.version} is no longer kept on the server.`,
    );
    return;
  }
  refuseIfReader(secret, 'restore');
  const ok = await vscode.window.showWarningMessage(
    `Restore v${picked.version.version} of '${secret.name}'?`,
    {
      modal: true,
      detail: 'Its value becomes the newest version; the current one stays in the history.',
    },
    'Restore',
  );
  if (ok !== 'Restore') return;
  await api.restore(secret.id, picked.version.version, secret.version);
  await session.syncNow();
}
