/**
 * Every command of package.json, in one table, as types: a typo does not compile, and the
 * composition root's handler table must have one handler per id (a missing one does not compile).
 * Grouped by the part of the extension that handles them.
 */
export const SECRET_COMMAND_IDS = [
  'notebookSecrets.new',
  'notebookSecrets.addNeeded',
  'notebookSecrets.newFromFile',
  'notebookSecrets.edit',
  'notebookSecrets.reveal',
  'notebookSecrets.copy',
  'notebookSecrets.delete',
  'notebookSecrets.share',
  'notebookSecrets.insertGetSecret',
  'notebookSecrets.refresh',
  'notebookSecrets.filter',
  'notebookSecrets.filterByType',
  'notebookSecrets.clearFilter',
  'notebookSecrets.groupBy',
  'notebookSecrets.configureServer',
  'notebookSecrets.showLog',
  'notebookSecrets.scanWorkspace',
  'notebookSecrets.moveHardCodedKey',
] as const;

export const NOTEBOOK_COMMAND_IDS = [
  'notebookSecrets.enableGetSecret',
  'notebookSecrets.manageNotebookAccess',
  'notebookSecrets.addJupyterServer',
  'notebookSecrets.removeJupyterServer',
  'notebookSecrets.portNotebook',
  'notebookSecrets.setKernelEnvironment',
  'notebookSecrets.choosePlatformCalls',
] as const;

export const SYNC_COMMAND_IDS = [
  'notebookSecrets.signIn',
  'notebookSecrets.signOut',
  'notebookSecrets.syncNow',
  'notebookSecrets.resolveConflict',
  'notebookSecrets.showHistory',
  'notebookSecrets.moveToScope',
  'notebookSecrets.selectProject',
] as const;

export const COMMAND_IDS = [
  ...SECRET_COMMAND_IDS,
  ...NOTEBOOK_COMMAND_IDS,
  ...SYNC_COMMAND_IDS,
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
export type SecretCommandId = (typeof SECRET_COMMAND_IDS)[number];
export type NotebookCommandId = (typeof NOTEBOOK_COMMAND_IDS)[number];
export type SyncCommandId = (typeof SYNC_COMMAND_IDS)[number];

/** What a command runs: its arguments come from VS Code (a tree item, a URI…) untyped. */
export type CommandHandler = (...args: never[]) => unknown;
