/**
 * The handlers of NOTEBOOK_COMMAND_IDS: Enable get_secret, Manage Notebook Access, Add and
 * Remove Jupyter Server, and the notebook's choices (Port, Kernel Environment, Platform Calls).
 */
import * as vscode from 'vscode';
import type { ConsentPolicy } from '../../broker/consent';
import type { CommandHandler, NotebookCommandId } from '../commandIds';
import type { NotebookChoiceStore } from '../needs/notebookChoiceStore';
import { UserFacingError } from '../registerCommand';
import type { LocalKernels } from './localKernels';
import { manageNotebookAccess } from './manageAccess';
import type { RemoteServers } from './remoteServers';

export interface NotebookCommandDeps {
  local: LocalKernels;
  remote: RemoteServers;
  consent: ConsentPolicy;
  choices: NotebookChoiceStore;
  /** The names of the user's secrets, offered for a notebook's environment. */
  secretNames(): string[];
}

export function notebookCommands(
  deps: NotebookCommandDeps,
): Record<NotebookCommandId, CommandHandler> {
  const { remote, choices } = deps;
  const commands: Record<NotebookCommandId, (arg?: unknown) => Promise<unknown>> = {
    'notebookSecrets.enableGetSecret': (arg) => enable(deps.local, arg),
    'notebookSecrets.manageNotebookAccess': () => manageNotebookAccess(deps.consent),
    'notebookSecrets.addJupyterServer': () => remote.add(),
    'notebookSecrets.removeJupyterServer': () => remote.remove(),
    // The port and the choice commands are read when first used (a chunk of their own).
    'notebookSecrets.portNotebook': async (arg) =>
      (await import('../needs/portNotebook')).portNotebook(notebookFrom(arg)),
    'notebookSecrets.setKernelEnvironment': async (arg) =>
      (await import('../needs/notebookChoiceCommands')).setKernelEnvironment(
        notebookFrom(arg),
        choices,
        deps.secretNames,
      ),
    'notebookSecrets.choosePlatformCalls': async (arg) =>
      (await import('../needs/notebookChoiceCommands')).choosePlatformCalls(
        notebookFrom(arg),
        choices,
      ),
  };
  return commands;
}

async function enable(local: LocalKernels, arg?: unknown): Promise<void> {
  const notebook = notebookFrom(arg);
  if (!notebook) {
    throw new UserFacingError('Open a Jupyter notebook first, then run this command from it.');
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Enabling get_secret…' },
    () => local.enable(notebook),
  );
  void vscode.window.showInformationMessage(
    "get_secret is enabled in this notebook's kernel: use get_secret('NAME') in a cell.",
  );
}

/** The notebook a command is about: its argument (toolbar passes one), else the active one. */
function notebookFrom(arg: unknown): vscode.NotebookDocument | undefined {
  const candidate = arg as { notebookEditor?: { notebookUri?: vscode.Uri }; uri?: vscode.Uri };
  const uri =
    candidate?.notebookEditor?.notebookUri ?? (arg instanceof vscode.Uri ? arg : undefined);
  if (uri) {
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc) return doc;
  }
  return vscode.window.activeNotebookEditor?.notebook;
}
