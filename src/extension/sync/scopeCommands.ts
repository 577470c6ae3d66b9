/** Move to Scope (personal, a project, a team) and Select Active Project. */
import * as vscode from 'vscode';
import type { IndexEntry } from '../../core/localStore';
import { PERSONAL, type Scope } from '../../core/model';
import { SCOPE_LABELS, sameScope, scopeKey } from '../../core/scope';
import { answered } from '../registerCommand';
import { refuseIfReader, type SyncCommandDeps, type SyncHandlers } from './syncCommandDeps';

export function scopeCommands(
  deps: SyncCommandDeps,
): SyncHandlers<'notebookSecrets.moveToScope' | 'notebookSecrets.selectProject'> {
  return {
    'notebookSecrets.moveToScope': (arg?: unknown) => moveToScope(deps, arg),
    'notebookSecrets.selectProject': () => selectProject(deps),
  };
}

async function moveToScope(deps: SyncCommandDeps, arg?: unknown): Promise<void> {
  const { store, log } = deps;
  const secret = await deps.targetSecret(arg, 'Secret to move');
  refuseIfReader(secret, 'move');
  const targets = scopesToMoveTo(deps, secret);
  if (targets.length === 0) {
    void vscode.window.showInformationMessage(
      'Sign in to a team server to move secrets to a project or team.',
    );
    return;
  }
  const target = answered(
    await vscode.window.showQuickPick(targets, { title: `Move '${secret.name}' to…` }),
  );
  const ok = await vscode.window.showWarningMessage(
    `Move '${secret.name}' from ${scopeKey(secret.scope)} to ${scopeKey(target.scope)}?`,
    {
      modal: true,
      detail:
        'Who can see it follows the new scope; its sharing and version history start afresh there.',
    },
    'Move',
  );
  if (ok !== 'Move') return;
  const value = await store.getValue(secret.id);
  await store.create({
    name: secret.name,
    value: value.value,
    encoding: value.encoding,
    type: secret.type,
    description: secret.description,
    scope: target.scope,
  });
  await store.delete(secret.id);
  log.info(`Moved '${secret.name}' to ${scopeKey(target.scope)}.`);
}

/** Personal, and the signed-in user's projects and teams, but the secret's own scope. */
function scopesToMoveTo(
  { session }: SyncCommandDeps,
  secret: IndexEntry,
): { label: string; scope: Scope }[] {
  const me = session.user;
  return [
    { label: SCOPE_LABELS.personal, scope: PERSONAL },
    ...(me?.projects ?? []).map((p) => ({
      label: `Project: ${p.id}`,
      scope: { kind: 'project' as const, id: p.id },
    })),
    ...(me?.teams ?? []).map((t) => ({
      label: `Team: ${t.id}`,
      scope: { kind: 'team' as const, id: t.id },
    })),
  ].filter((t) => !sameScope(t.scope, secret.scope));
}

async function selectProject(deps: SyncCommandDeps): Promise<void> {
  const projects = deps.session.user?.projects ?? [];
  const current = deps.activeProject();
  const picked = answered(
    await vscode.window.showQuickPick(
      [
        { label: '$(circle-slash) No active project', project: undefined as string | undefined },
        ...projects.map((p) => ({
          label: p.id,
          description: p.name !== p.id ? p.name : undefined,
          project: p.id,
        })),
      ].map((i) => ({ ...i, picked: i.project === current })),
      {
        title: 'Active project for this workspace',
        placeHolder: 'get_secret(name) resolves personal > this project > team',
      },
    ),
  );
  await deps.setActiveProject(picked.project);
}
