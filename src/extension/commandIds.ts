/** Every command of package.json, as a type so a typo does not compile. */
export const COMMAND_IDS = [
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

export type CommandId = (typeof COMMAND_IDS)[number];
