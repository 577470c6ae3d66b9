/**
 * The sync commands, in one table: Sign in / Sign Out (signInCommands.ts), Sync Now, Resolve
 * Conflict (conflictCommands.ts), Version History (historyCommands.ts), Move to Scope and Select
 * Active Project (scopeCommands.ts). The root registers them through one wrapper that keeps
 * Escape silent and shows failures with "Show Log". Also the handler Share calls once signed in.
 */
import type { IndexEntry } from '../../core/localStore';
import { sameScope } from '../../core/scope';
import { ApiError } from '../../sync/errors';
import { conflictCommands } from './conflictCommands';
import { historyCommands } from './historyCommands';
import { scopeCommands } from './scopeCommands';
import { shareDialog } from './shareDialog';
import { signInCommands } from './signInCommands';
import {
  ensureSignedIn,
  refuseIfReader,
  requireClient,
  type SyncCommandDeps,
  type SyncHandlers,
} from './syncCommandDeps';
import type { SyncSession } from './syncSession';

/** Every sync command's handler: a command of SYNC_COMMAND_IDS without one does not compile. */
export function syncCommands(deps: SyncCommandDeps): SyncHandlers {
  return {
    ...signInCommands(deps),
    'notebookSecrets.syncNow': () => syncNow(deps.session),
    ...conflictCommands(deps),
    ...historyCommands(deps),
    ...scopeCommands(deps),
  };
}

async function syncNow(session: SyncSession): Promise<void> {
  if (!(await ensureSignedIn(session))) return;
  const status = await session.syncNow();
  if (status?.kind === 'error' || status?.kind === 'offline') {
    throw new Error(status.lastError ?? 'Sync failed.');
  }
}

/** The share handler the foundation's Share command calls once signed in. */
export function shareHandler(session: SyncSession) {
  return async (secret: IndexEntry): Promise<void> => {
    const api = requireClient(session);
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
