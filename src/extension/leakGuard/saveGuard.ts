/**
 * Save guard: when a notebook is saved with one of the user's stored values in a cell's source or
 * in a text output, warn once for that notebook, with "Clear Those Outputs", "Replace in Source"
 * and "Save Anyway". The warning does not hold the save up (VS Code gives save participants
 * little time, and a prompt could lose the save): it comes right after, and its actions change
 * the notebook and save it again. Messages name secrets, never values.
 */
import * as vscode from 'vscode';
import type { SecretRule } from '../../core/secretRules';
import { scanText } from '../../core/secretScan';
import type { SecretRepository } from '../storage/secretRepository';
import { movableKeys } from './hardCodedKeys';
import { StoredValueIndex } from './storedValueIndex';

export interface SaveGuardDeps {
  repository: Pick<SecretRepository, 'list' | 'getValue'>;
  log: vscode.LogOutputChannel;
  /** Shared with the warnings; built from the repository when absent. */
  index?: StoredValueIndex;
}

export const CLEAR_OUTPUTS = 'Clear Those Outputs';
export const REPLACE_IN_SOURCE = 'Replace in Source';
export const SAVE_ANYWAY = 'Save Anyway';

interface Exposure {
  names: Set<string>;
  /** Indexes of cells with a value in an output. */
  outputCells: number[];
  /** Indexes of cells with a value in the source. */
  sourceCells: number[];
}

const decoder = new TextDecoder();

export class SaveGuard implements vscode.Disposable {
  /** Notebooks whose user chose Save Anyway, or was already warned for the same exposure. */
  private readonly settled = new Map<string, string>();
  private readonly index: StoredValueIndex;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly deps: SaveGuardDeps) {
    this.index = deps.index ?? new StoredValueIndex(deps.repository);
    this.subscription = vscode.workspace.onWillSaveNotebookDocument((e) => {
      this.check(e.notebook).catch((error: unknown) =>
        deps.log.warn(
          `Checking a notebook for secret values failed: ${error instanceof Error ? error.message : 'error'}`,
        ),
      );
    });
  }

  private valueRules(): Promise<SecretRule[]> {
    return this.index.rules();
  }

  async exposure(notebook: vscode.NotebookDocument): Promise<Exposure> {
    const rules = await this.valueRules();
    const found: Exposure = { names: new Set(), outputCells: [], sourceCells: [] };
    if (rules.length === 0) return found;
    for (const cell of notebook.getCells()) {
      const inSource = scanText(cell.document.getText(), rules);
      if (inSource.length > 0) found.sourceCells.push(cell.index);
      const inOutputs = cell.outputs.flatMap((o) =>
        o.items
          .filter((i) => !i.mime.startsWith('image/') || i.mime === 'image/svg+xml')
          .flatMap((i) => scanText(decoder.decode(i.data), rules)),
      );
      if (inOutputs.length > 0) found.outputCells.push(cell.index);
      for (const f of [...inSource, ...inOutputs]) if (f.secret) found.names.add(f.secret);
    }
    return found;
  }

  async check(notebook: vscode.NotebookDocument): Promise<void> {
    const found = await this.exposure(notebook);
    const uri = notebook.uri.toString();
    if (found.names.size === 0) {
      this.settled.delete(uri);
      return;
    }
    const signature = JSON.stringify([
      [...found.names].sort(),
      found.outputCells,
      found.sourceCells,
    ]);
    if (this.settled.get(uri) === signature) return;
    this.settled.set(uri, signature);
    const names = [...found.names].sort().join(', ');
    const where = [
      found.outputCells.length > 0 ? `${found.outputCells.length} cell output(s)` : '',
      found.sourceCells.length > 0 ? `${found.sourceCells.length} cell source(s)` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const actions = [
      ...(found.outputCells.length > 0 ? [CLEAR_OUTPUTS] : []),
      ...(found.sourceCells.length > 0 ? [REPLACE_IN_SOURCE] : []),
      SAVE_ANYWAY,
    ];
    const choice = await vscode.window.showWarningMessage(
      `The saved notebook holds the value of ${names} in ${where}: it is now in the file (and in git, if you commit it).`,
      { modal: true },
      ...actions,
    );
    if (choice === CLEAR_OUTPUTS) await this.clearOutputs(notebook, found.outputCells);
    else if (choice === REPLACE_IN_SOURCE) await this.replaceInSource(notebook, found.sourceCells);
  }

  private async clearOutputs(notebook: vscode.NotebookDocument, cells: number[]): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.set(
      notebook.uri,
      cells.map((index) => {
        const cell = notebook.cellAt(index);
        const data = new vscode.NotebookCellData(
          cell.kind,
          cell.document.getText(),
          cell.document.languageId,
        );
        data.metadata = cell.metadata;
        data.outputs = [];
        return vscode.NotebookEdit.replaceCells(new vscode.NotebookRange(index, index + 1), [data]);
      }),
    );
    if (await vscode.workspace.applyEdit(edit)) await notebook.save();
  }

  private async replaceInSource(notebook: vscode.NotebookDocument, cells: number[]): Promise<void> {
    const rules = await this.valueRules();
    const edit = new vscode.WorkspaceEdit();
    let left = 0;
    for (const index of cells) {
      const document = notebook.cellAt(index).document;
      const text = document.getText();
      const keys = movableKeys(text, rules).filter((k) => k.suggestedName);
      left += scanText(text, rules).length - keys.length;
      for (const key of keys) {
        edit.replace(
          document.uri,
          new vscode.Range(document.positionAt(key.start), document.positionAt(key.end)),
          `get_secret('${key.suggestedName}')`,
        );
      }
    }
    if (await vscode.workspace.applyEdit(edit)) await notebook.save();
    if (left > 0) {
      void vscode.window.showWarningMessage(
        `${left} value(s) sit inside longer strings and were left as they are; rewrite them with get_secret yourself.`,
      );
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
