/**
 * Share, once signed in: the secret reaches the team server first if it is new there, then the
 * Share dialog (shareDialog.ts) lists and changes who has access, as Owner or Reader.
 */
import type { IndexEntry } from '../../core/localStore';
import { sameScope } from '../../core/scope';
import { ApiError } from '../../sync/errors';
import { shareDialog } from './shareDialog';
import { refuseIfReader, requireClient } from './syncCommandDeps';
import type { SyncSession } from './syncSession';

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
