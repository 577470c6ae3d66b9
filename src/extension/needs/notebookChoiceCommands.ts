/**
 * The commands that change a notebook's choices (notebookChoiceStore.ts): "Set Kernel Environment…"
 * (the names whose values go into the kernel's os.environ when it starts) and "Serve Other
 * Platforms' Secret Calls…" (answer again the question asked when such a notebook opened).
 */
import * as vscode from 'vscode';
import { cellLanguage } from '../../core/neededSecrets';
import { findSecretReads } from '../../core/secretReads';
import type { NotebookChoiceStore } from './notebookChoiceStore';
import { UserFacingError } from '../registerCommand';

function label(notebook: vscode.NotebookDocument): string {
  return vscode.workspace.asRelativePath(notebook.uri, false);
}

function required(notebook: vscode.NotebookDocument | undefined): vscode.NotebookDocument {
  if (!notebook || notebook.notebookType !== 'jupyter-notebook') {
    throw new UserFacingError('Open a Jupyter notebook first, then run this command.');
  }
  return notebook;
}

/** Names the notebook's cells read from the environment (`os.environ['X']`, `os.getenv('X')`). */
function environmentReads(notebook: vscode.NotebookDocument): string[] {
  const cells = notebook
    .getCells()
    .filter((c) => c.kind === vscode.NotebookCellKind.Code)
    .flatMap((c) => {
      const language = cellLanguage(c.document.languageId);
      return language ? [{ source: c.document.getText(), language }] : [];
    });
  return findSecretReads(cells)
    .flat()
    .filter((r) => r.form === 'environment')
    .map((r) => r.name);
}

/** "Set Kernel Environment…": picks the names, from the list, the cells' reads and the user's secrets. */
export async function setKernelEnvironment(
  arg: vscode.NotebookDocument | undefined,
  store: NotebookChoiceStore,
  secretNames: () => string[],
): Promise<void> {
  const notebook = required(arg);
  const current = store.of(notebook).environment;
  const read = environmentReads(notebook);
  const names = [...new Set([...current, ...read, ...secretNames()])];
  if (names.length === 0) {
    throw new UserFacingError(
      'You have no secrets yet, and the notebook reads none from its environment: add a secret first.',
    );
  }
  const picked = await vscode.window.showQuickPick(
    names.map((name) => ({
      label: name,
      description: read.includes(name) ? 'read by a cell from os.environ' : undefined,
      picked: current.includes(name),
    })),
    {
      title: `Kernel Environment of ${label(notebook)}`,
      placeHolder:
        "Secrets to put in the kernel's os.environ when it starts, after you allow them (names only are saved in the notebook)",
      canPickMany: true,
    },
  );
  if (!picked) return;
  const chosen = picked.map((p) => p.label);
  await store.setEnvironment(notebook, chosen);
  void vscode.window.showInformationMessage(
    chosen.length === 0
      ? `${label(notebook)} puts no secret in its kernel's environment from its next start.`
      : `${chosen.join(', ')} will be in the environment of ${label(notebook)}'s kernel from its next start, after you allow ${chosen.length === 1 ? 'it' : 'them'}: restart the kernel to apply. Save the notebook to keep the list.`,
  );
}

const SERVE = 'Serve them from Notebook Secrets';
const LEAVE = 'Leave them as they are';

/** "Serve Other Platforms' Secret Calls…": changes the notebook's answer. */
export async function choosePlatformCalls(
  arg: vscode.NotebookDocument | undefined,
  store: NotebookChoiceStore,
): Promise<void> {
  const notebook = required(arg);
  const now = store.of(notebook).servePlatformCalls;
  const picked = await vscode.window.showQuickPick(
    [
      {
        label: SERVE,
        description: now === true ? 'current' : undefined,
        detail:
          "Colab's userdata.get, Kaggle's UserSecretsClient, dbutils.secrets.get, SingleStore's and Hopsworks' get_secret read your secrets, unchanged",
      },
      {
        label: LEAVE,
        description: now === false ? 'current' : undefined,
        detail: 'They run as they would without Notebook Secrets (and fail outside their platform)',
      },
    ],
    { title: `Other Platforms' Secret Calls in ${label(notebook)}` },
  );
  if (!picked) return;
  await store.record(notebook.uri.toString(), picked.label === SERVE);
}
