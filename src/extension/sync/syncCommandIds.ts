/** The sync commands, registered by registerSync.ts before the sync client is loaded. */
export const SYNC_COMMAND_IDS = [
  'notebookSecrets.signIn',
  'notebookSecrets.signOut',
  'notebookSecrets.syncNow',
  'notebookSecrets.resolveConflict',
  'notebookSecrets.showHistory',
  'notebookSecrets.moveToScope',
  'notebookSecrets.selectProject',
] as const;
export type SyncCommandId = (typeof SYNC_COMMAND_IDS)[number];
