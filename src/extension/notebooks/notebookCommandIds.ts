/** The notebook commands of package.json, as a type so a typo does not compile. */
export const NOTEBOOK_COMMAND_IDS = [
  'notebookSecrets.enableGetSecret',
  'notebookSecrets.manageNotebookAccess',
  'notebookSecrets.addJupyterServer',
  'notebookSecrets.removeJupyterServer',
  'notebookSecrets.portNotebook',
  'notebookSecrets.setKernelEnvironment',
  'notebookSecrets.choosePlatformCalls',
] as const;

export type NotebookCommandId = (typeof NOTEBOOK_COMMAND_IDS)[number];
