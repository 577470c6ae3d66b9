/**
 * Resolve Conflict: pick a conflicted secret, then Keep Mine, Keep Theirs, or Compare (versions,
 * authors and times; the values only when asked) and keep one from there.
 */
import * as vscode from 'vscode';
import type { IndexEntry } from '../../core/localStore';
import { scopeKey } from '../../core/scope';
import type { Comparison, SyncEngine } from '../../sync/engine';
import type { ConflictKind } from '../../sync/syncState';
import { answered } from '../registerCommand';
import { ensureSignedIn, type SyncCommandDeps, type SyncHandlers } from './syncCommandDeps';

type Side = 'mine' | 'theirs';

export function conflictCommands(
  deps: SyncCommandDeps,
): SyncHandlers<'notebookSecrets.resolveConflict'> {
  return { 'notebookSecrets.resolveConflict': (arg?: unknown) => resolveConflict(deps, arg) };
}

async function resolveConflict(deps: SyncCommandDeps, arg?: unknown): Promise<void> {
  if (!(await ensureSignedIn(deps.session))) return;
  const engine = deps.session.syncEngine;
  if (!engine) {
    void vscode.window.showInformationMessage(
      'Sync has not started yet; conflicts show once the first sync has run.',
    );
    return;
  }
  if (engine.conflicts().length === 0) {
    void vscode.window.showInformationMessage('No conflicts: everything is in sync.');
    return;
  }
  const secret = await conflictedSecret(deps, engine, arg);
  if (!deps.store.isConflicted(secret.id)) {
    void vscode.window.showInformationMessage(`'${secret.name}' has no conflict.`);
    return;
  }
  await chooseAndResolve(deps, engine, secret);
}

/** The secret the command is about: its argument, else one the user picks among the conflicts. */
async function conflictedSecret(
  deps: SyncCommandDeps,
  engine: SyncEngine,
  arg: unknown,
): Promise<IndexEntry> {
  if (arg !== undefined) return deps.targetSecret(arg, 'Conflicted secret to resolve');
  const picked = answered(
    await vscode.window.showQuickPick(
      engine.conflicts().map((c) => ({
        label: c.name,
        description: `${scopeKey(c.scope)} · ${CONFLICT_LABELS[c.conflict.kind]}`,
        id: c.id,
      })),
      { title: 'Conflicted secret to resolve' },
    ),
  );
  return answered(deps.store.get(picked.id));
}

/** Asks until the user keeps a side (directly, or after comparing) or dismisses the choice. */
async function chooseAndResolve(
  deps: SyncCommandDeps,
  engine: SyncEngine,
  secret: IndexEntry,
): Promise<void> {
  for (;;) {
    const choice = await pickResolution(secret);
    if (!choice) return;
    if (choice !== 'compare') {
      await engine.resolveConflict(secret.id, choice);
      deps.log.info(`Conflict on '${secret.name}' resolved: kept ${choice}.`);
      return;
    }
    const side = await compareSides(engine, secret);
    if (side) {
      await engine.resolveConflict(secret.id, side);
      return;
    }
  }
}

async function pickResolution(secret: IndexEntry): Promise<Side | 'compare' | undefined> {
  const choice = await vscode.window.showQuickPick(
    [
      {
        label: '$(arrow-up) Keep Mine',
        description: 'send this machine’s version to the server',
        value: 'mine' as const,
      },
      {
        label: '$(arrow-down) Keep Theirs',
        description: 'replace this machine’s version with the server’s',
        value: 'theirs' as const,
      },
      {
        label: '$(diff) Compare…',
        description: 'versions, authors and times (values only if you ask)',
        value: 'compare' as const,
      },
    ],
    { title: `'${secret.name}' changed here and on the server`, ignoreFocusOut: true },
  );
  return choice?.value;
}

/** Shows both versions without values (then the values, if asked); the side kept, if any. */
async function compareSides(engine: SyncEngine, secret: IndexEntry): Promise<Side | undefined> {
  const comparison = await engine.compare(secret.id);
  const action = await vscode.window.showInformationMessage(
    `Compare '${secret.name}'`,
    { modal: true, detail: describeComparison(comparison) },
    'Show Values',
    'Keep Mine',
    'Keep Theirs',
  );
  if (action === 'Show Values') return compareValues(engine, secret);
  return action ? sideOf(action) : undefined;
}

async function compareValues(engine: SyncEngine, secret: IndexEntry): Promise<Side | undefined> {
  const withValues = await engine.compare(secret.id, { values: true });
  const pick = await vscode.window.showInformationMessage(
    `Values of '${secret.name}'`,
    {
      modal: true,
      detail: `Mine: ${withValues.mine.value?.value ?? '(deleted)'}\n\nTheirs: ${withValues.theirs.value?.value ?? '(deleted)'}`,
    },
    'Keep Mine',
    'Keep Theirs',
  );
  return pick ? sideOf(pick) : undefined;
}

function sideOf(answer: 'Keep Mine' | 'Keep Theirs'): Side {
  return answer === 'Keep Mine' ? 'mine' : 'theirs';
}

export const CONFLICT_LABELS: Record<ConflictKind, string> = {
  both_edited: 'changed here and on the server',
  both_created: 'created here and on the server',
  deleted_here: 'deleted here, changed on the server',
  deleted_there: 'changed here, deleted on the server (or access lost)',
  rejected: 'the server refused the change here',
};

export function describeComparison(c: Comparison): string {
  // The local version number counts edits on this machine; what the user compares is the server
  // version the edit started from.
  const edition = (s: Comparison['mine']) =>
    s.base === undefined
      ? `version ${s.version ?? '?'}`
      : s.base === null
        ? 'created here'
        : `edited from version ${s.base}`;
  const side = (name: string, s: Comparison['mine']) =>
    s.deleted
      ? `${name}: deleted`
      : `${name}: ${edition(s)}${s.author ? ` by ${s.author}` : ''}${s.at ? `, ${new Date(s.at).toLocaleString()}` : ''}`;
  return `${side('Mine (this machine)', c.mine)}\n${side('Theirs (server)', c.theirs)}`;
}
