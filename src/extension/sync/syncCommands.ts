/**
 * The sync commands, in one table: Sign in / Sign Out (signInCommands.ts), Sync Now, Resolve
 * Conflict (conflictCommands.ts), Version History (historyCommands.ts), Move to Scope and Select
 * Active Project (scopeCommands.ts). The root registers them through one wrapper that keeps
 * Escape silent and shows failures with "Show Log". Share, once signed in, is shareHandler.ts.
 */
import { conflictCommands } from './conflictCommands';
import { historyCommands } from './historyCommands';
import { scopeCommands } from './scopeCommands';
import { signInCommands } from './signInCommands';
import { ensureSignedIn, type SyncCommandDeps, type SyncHandlers } from './syncCommandDeps';
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
