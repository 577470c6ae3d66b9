/**
 * The sync commands: Sign in / Sign Out, Sync Now, Resolve Conflict (Keep Mine / Keep Theirs /
 * Compare), Version History, Move to Scope, Select Active Project. Each runs through one wrapper
 * that keeps Escape silent and shows failures with "Show Log".
 */
import * as vscode from 'vscode';
import type { Me } from '../../core/api';
import { AccessDenied } from '../../core/errors';
import type { IndexEntry, LocalSecretStore } from '../../core/localStore';
import { PERSONAL, type Scope, type SecretMetadata } from '../../core/model';
import { SCOPE_LABELS, sameScope, scopeKey } from '../../core/scope';
import type { Comparison } from '../../sync/engine';
import type { Receive } from '../../sync/providerSignIn';
import { ApiError } from '../../sync/errors';
import type { ConflictKind } from '../../sync/syncState';
import { Cancelled, answered } from '../registerCommand';
import { serverUrlProblem } from '../serverTrust';
import { checkServerTransport, insecureSignInWarning } from '../serverTrust';
import { shareDialog } from './shareDialog';
import type { SyncCommandId } from '../commandIds';
import type { SyncSession } from './syncSession';
import { setting, updateUserSetting } from '../settings';

export interface SyncCommandDeps {
  session: SyncSession;
  store: LocalSecretStore;
  log: vscode.LogOutputChannel;
  activeProject(): string | undefined;
  setActiveProject(project: string | undefined): Promise<void>;
  /** Resolves a tree node or palette call to a secret (the foundation's pickSecret). */
  targetSecret(arg: unknown, title: string): Promise<IndexEntry>;
  /** Where a browser sign-in comes back (signInReturn.ts); undefined: a loopback port. */
  signInReturn?: Receive;
}

/** Readers may not change a secret; said before the server would refuse. */
export function refuseIfReader(secret: SecretMetadata, action: string): void {
  if (secret.role === 'reader') {
    throw new AccessDenied(
      `You can only read '${secret.name}' (shared with you as reader), so you cannot ${action} it. Ask an owner.`,
    );
  }
}

export function syncCommands(
  deps: SyncCommandDeps,
): Record<SyncCommandId, (...args: unknown[]) => Promise<void>> {
  const { session, store, log } = deps;

  const requireClient = () => {
    const api = session.client;
    if (!api) throw new Cancelled();
    return api;
  };

  const ensureSignedIn = async (): Promise<boolean> => {
    if (session.client) return true;
    const action = await vscode.window.showInformationMessage(
      'This needs a team server. Sign in first.',
      'Sign in…',
    );
    if (action) await vscode.commands.executeCommand('notebookSecrets.signIn');
    return false;
  };

  async function signIn(): Promise<void> {
    const url = answered(
      await vscode.window.showInputBox({
        title: 'Sign in to Team Server (1/2)',
        prompt: 'The URL of a Notebook Secrets server (notebook-secrets serve)',
        value: setting('server.url') || 'http://127.0.0.1:8787',
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === '' ? 'Enter the server URL.' : serverUrlProblem(v)),
      }),
    ).trim();
    const provider = await session.providerOf(url);
    if (provider) {
      const useProvider = `Sign in with ${provider.name}`;
      const how = answered(
        await vscode.window.showQuickPick(
          [
            { label: useProvider, detail: 'In your browser; you come back here when it is done' },
            { label: 'Use a token', detail: 'A token from your administrator' },
          ],
          { title: 'Sign in to Team Server (2/2)', ignoreFocusOut: true },
        ),
      );
      if (how.label === useProvider) {
        const me = await vscode.window.withProgress(
          {
            location: vscode.ProgressLocation.Notification,
            title: `Signing in with ${provider.name} in your browser…`,
            cancellable: true,
          },
          (_progress, cancel) => {
            const stop = new AbortController();
            cancel.onCancellationRequested(() => stop.abort(new Cancelled()));
            return session.signInWithProvider(url, {
              provider: provider.name,
              say: (line) => log.info(line),
              open: (target) => Promise.resolve(openExactly(target)),
              ...(deps.signInReturn && { receive: deps.signInReturn }),
              signal: stop.signal,
            });
          },
        );
        await signedIn(url, me);
        return;
      }
    }
    const token = answered(
      await vscode.window.showInputBox({
        title: 'Sign in to Team Server (2/2)',
        prompt: 'Your API token (from your administrator: notebook-secrets admin token create)',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === '' ? 'Enter the token.' : undefined),
      }),
    ).trim();
    const me = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Signing in to ${url}…` },
      () => session.signIn(url, token),
    );
    await signedIn(url, me);
  }

  async function signedIn(url: string, me: Me): Promise<void> {
    await updateUserSetting('server.url', url);
    if (checkServerTransport(url) === 'insecure-http') {
      void vscode.window.showWarningMessage(
        `Signed in to ${url} as ${me.user.id}. ${insecureSignInWarning(url)}`,
      );
      return;
    }
    void vscode.window.showInformationMessage(
      `Signed in to ${url} as ${me.user.id}. Your secrets now sync with the team server.`,
    );
  }

  async function signOut(): Promise<void> {
    if (!session.client) return;
    const pending = session.syncEngine?.outbox().length ?? 0;
    const conflicts = session.syncEngine?.conflicts().length ?? 0;
    const detail =
      'Copies of secrets shared with you and of team and project secrets are removed from this machine; your own personal secrets stay here as local secrets.' +
      (pending + conflicts > 0
        ? ` ${pending} change(s) not sent yet and ${conflicts} conflict(s) stay here as local secrets too.`
        : '');
    const ok = await vscode.window.showWarningMessage(
      'Sign out of the team server?',
      { modal: true, detail },
      'Sign Out',
    );
    if (ok !== 'Sign Out') return;
    await session.signOut();
  }

  async function syncNow(): Promise<void> {
    if (!(await ensureSignedIn())) return;
    const status = await session.syncNow();
    if (status?.kind === 'error' || status?.kind === 'offline') {
      throw new Error(status.lastError ?? 'Sync failed.');
    }
  }

  async function resolveConflict(arg?: unknown): Promise<void> {
    if (!(await ensureSignedIn())) return;
    const engine = session.syncEngine;
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
    let secret: IndexEntry;
    if (arg === undefined) {
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
      secret = answered(store.get(picked.id));
    } else {
      secret = await deps.targetSecret(arg, 'Conflicted secret to resolve');
    }
    if (!store.isConflicted(secret.id)) {
      void vscode.window.showInformationMessage(`'${secret.name}' has no conflict.`);
      return;
    }
    for (;;) {
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
      if (!choice) return;
      if (choice.value !== 'compare') {
        await engine.resolveConflict(secret.id, choice.value);
        log.info(`Conflict on '${secret.name}' resolved: kept ${choice.value}.`);
        return;
      }
      const comparison = await engine.compare(secret.id);
      const action = await vscode.window.showInformationMessage(
        `Compare '${secret.name}'`,
        { modal: true, detail: describeComparison(comparison) },
        'Show Values',
        'Keep Mine',
        'Keep Theirs',
      );
      if (action === 'Show Values') {
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
        if (pick) await engine.resolveConflict(secret.id, pick === 'Keep Mine' ? 'mine' : 'theirs');
        if (pick) return;
      } else if (action) {
        await engine.resolveConflict(secret.id, action === 'Keep Mine' ? 'mine' : 'theirs');
        return;
      }
    }
  }

  async function showHistory(arg?: unknown): Promise<void> {
    if (!(await ensureSignedIn())) return;
    const api = requireClient();
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

  async function moveToScope(arg?: unknown): Promise<void> {
    const secret = await deps.targetSecret(arg, 'Secret to move');
    refuseIfReader(secret, 'move');
    const me = session.user;
    const targets: { label: string; scope: Scope }[] = [
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

  async function selectProject(): Promise<void> {
    const projects = session.user?.projects ?? [];
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

  return {
    'notebookSecrets.signIn': signIn,
    'notebookSecrets.signOut': signOut,
    'notebookSecrets.syncNow': syncNow,
    'notebookSecrets.resolveConflict': resolveConflict,
    'notebookSecrets.showHistory': showHistory,
    'notebookSecrets.moveToScope': moveToScope,
    'notebookSecrets.selectProject': selectProject,
  };
}

/**
 * Opens `url` in the browser as written. A vscode.Uri decodes the query and encodes it again its
 * own way, which turns the redirect_uri parameter's own query (a VS Code for the Web callback
 * URL) into parameters of the URL around it; openExternal also takes the URL as a string, and
 * then opens exactly that string.
 */
function openExactly(url: string): Thenable<boolean> {
  return vscode.env.openExternal(url as unknown as vscode.Uri);
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

/** The share handler the foundation's Share command calls once signed in. */
export function shareHandler(session: SyncSession) {
  return async (secret: IndexEntry): Promise<void> => {
    const api = session.client;
    if (!api) throw new Cancelled();
    refuseIfReader(secret, 'share');
    const info = secret.sync;
    if (!info || info.base === null) {
      await session.syncNow(); // a new secret must reach the server before it can be shared
    }
    // Synced: the local id is the server's. New: the user's own secret of that name and scope
    // (never someone else's personal secret of the same name shared with them).
    const me = session.user?.user.id;
    const current = info?.base
      ? await api.getSecret(secret.id).catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) return undefined;
          throw error;
        })
      : (await api.listSecrets({ q: secret.name })).find(
          (s) =>
            s.name === secret.name &&
            sameScope(s.scope, secret.scope) &&
            (s.scope.kind !== 'personal' || s.created_by === me),
        );
    if (!current)
      throw new Error(
        `'${secret.name}' is not on the team server yet; try Sync Now, then share again.`,
      );
    await shareDialog(api, current);
    await session.syncNow();
  };
}
