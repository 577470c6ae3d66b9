/**
 * What every sync command shares: its dependencies, the guard that asks to sign in first, and
 * the reader check. The commands themselves live in a file per concern (sign-in, conflicts,
 * history, scopes); syncCommands.ts puts them in one table.
 */
import * as vscode from 'vscode';
import { AccessDenied } from '../../core/errors';
import type { IndexEntry, LocalSecretStore } from '../../core/localStore';
import type { SecretMetadata } from '../../core/model';
import type { ApiClient } from '../../sync/client';
import type { Receive } from '../../sync/providerSignIn';
import type { SyncCommandId } from '../commandIds';
import { Cancelled } from '../registerCommand';
import type { SyncSession } from './syncSession';

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

/** The handlers of some of the sync commands: each concern's file returns its own. */
export type SyncHandlers<Id extends SyncCommandId = SyncCommandId> = Record<
  Id,
  (...args: unknown[]) => Promise<void>
>;

/** Readers may not change a secret; said before the server would refuse. */
export function refuseIfReader(secret: SecretMetadata, action: string): void {
  if (secret.role === 'reader') {
    throw new AccessDenied(
      `You can only read '${secret.name}' (shared with you as reader), so you cannot ${action} it. Ask an owner.`,
    );
  }
}

/** The signed-in client; a command reached without one ends quietly. */
export function requireClient(session: SyncSession): ApiClient {
  const api = session.client;
  if (!api) throw new Cancelled();
  return api;
}

/** Whether a team server is signed in; if not, offers to sign in and returns false. */
export async function ensureSignedIn(session: SyncSession): Promise<boolean> {
  if (session.client) return true;
  const action = await vscode.window.showInformationMessage(
    'This needs a team server. Sign in first.',
    'Sign in…',
  );
  if (action) await vscode.commands.executeCommand('notebookSecrets.signIn');
  return false;
}
