/**
 * Rewriting a notebook's Colab, Kaggle, Databricks, SingleStore, Hopsworks and environment reads to
 * `get_secret('NAME')` (core/portToGetSecret.ts): the quick fix "Use get_secret('NAME')" on one read
 * in a cell, and "Port This Notebook to get_secret…", which lists every read it can rewrite and
 * rewrites those the user keeps ticked, in one edit (one undo).
 */
import * as vscode from 'vscode';
import {
  portableReads,
  portEdits,
  type CellEdit,
  type PortableRead,
} from '../../core/portToGetSecret';
import { FORM_LABELS, type CellSource } from '../../core/secretReads';
import { UserFacingError } from '../registerCommand';

export const PORT_NOTEBOOK_COMMAND = 'notebookSecrets.portNotebook';

/** The notebook's Python code cells, as the scanner reads them, with the cell each came from. */
function pythonCells(notebook: vscode.NotebookDocument): {
  sources: CellSource[];
  cells: vscode.NotebookCell[];
} {
  const cells = notebook
    .getCells()
    .filter((c) => c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python');
  return {
    cells,
    sources: cells.map((c) => ({ source: c.document.getText(), language: 'python' })),
  };
}

function workspaceEdit(cells: vscode.NotebookCell[], edits: CellEdit[]): vscode.WorkspaceEdit {
  const edit = new vscode.WorkspaceEdit();
  for (const e of edits) {
    const doc = cells[e.cell]!.document;
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), e.text);
  }
  return edit;
}

/** What a read looks like in a list: `userdata.get('HF_TOKEN')` (Colab) → get_secret('HF_TOKEN'). */
function describe(read: PortableRead, source: string): string {
  const text = source.slice(read.read.start, read.read.end).replace(/\s+/g, ' ');
  return `${text.length > 70 ? `${text.slice(0, 67)}…` : text} (${FORM_LABELS[read.read.form]})`;
}

/** "Port This Notebook to get_secret…": lists the reads, then rewrites those kept. */
export async function portNotebook(notebook: vscode.NotebookDocument | undefined): Promise<void> {
  if (!notebook) throw new UserFacingError('Open a Jupyter notebook first, then run this command.');
  const { cells, sources } = pythonCells(notebook);
  const reads = portableReads(sources);
  if (reads.length === 0) {
    void vscode.window.showInformationMessage(
      'This notebook has no Colab, Kaggle, Databricks, SingleStore, Hopsworks or environment read that get_secret can replace.',
    );
    return;
  }
  const items = reads.map((read) => ({
    label: describe(read, sources[read.cell]!.source),
    description: `→ ${read.replacement}`,
    detail: `Cell ${cells[read.cell]!.index + 1}`,
    picked: true,
    read,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Port This Notebook to get_secret',
    placeHolder: 'The calls to rewrite; imports and clients left unused go too',
    canPickMany: true,
  });
  if (!picked || picked.length === 0) return;
  const edits = portEdits(
    sources,
    picked.map((p) => p.read),
  );
  if (!(await vscode.workspace.applyEdit(workspaceEdit(cells, edits)))) {
    throw new UserFacingError('The notebook could not be changed; nothing was rewritten.');
  }
  void vscode.window.showInformationMessage(
    `Rewrote ${picked.length} call${picked.length === 1 ? '' : 's'} to get_secret. The notebook now runs wherever get_secret does; save it to keep the change.`,
  );
}

/** "Use get_secret('NAME')" on each read a notebook cell's selection touches. */
export class PortReadActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range): vscode.CodeAction[] {
    const uri = document.uri.toString();
    const notebook = vscode.workspace.notebookDocuments.find((n) =>
      n.getCells().some((c) => c.document.uri.toString() === uri),
    );
    if (!notebook) return [];
    const { cells, sources } = pythonCells(notebook);
    const here = cells.findIndex((c) => c.document.uri.toString() === uri);
    if (here < 0) return [];
    const all = portableReads(sources);
    const actions = all
      .filter((r) => r.cell === here)
      .filter((r) => {
        const start = document.positionAt(r.read.start);
        const end = document.positionAt(r.read.end);
        return !(end.isBefore(range.start) || range.end.isBefore(start));
      })
      .map((read) => {
        const action = new vscode.CodeAction(
          `Use ${read.replacement}`,
          vscode.CodeActionKind.QuickFix,
        );
        action.edit = workspaceEdit(cells, portEdits(sources, [read]));
        return action;
      });
    if (actions.length > 0 && all.length > 1) {
      const port = new vscode.CodeAction(
        'Port This Notebook to get_secret…',
        vscode.CodeActionKind.QuickFix,
      );
      port.command = {
        command: PORT_NOTEBOOK_COMMAND,
        title: 'Port This Notebook to get_secret…',
        arguments: [notebook.uri],
      };
      actions.push(port);
    }
    return actions;
  }
}
