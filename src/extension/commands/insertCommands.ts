/**
 * Insert get_secret: writes `get_secret('NAME')` (or get_secret_bytes for a file) where the
 * cursor is, naming the scope when another secret of that name would be read first.
 */
import * as vscode from 'vscode';
import { sharedBy, type IndexEntry } from '../../core';
import type { SecretRepository } from '../storage/secretRepository';
import { targetSecret } from '../views/pickSecret';

export function insertCommands(repository: SecretRepository) {
  async function insertGetSecret(arg?: unknown): Promise<void> {
    const target = insertionTarget();
    if (!target) {
      throw new Error(
        "Open a notebook cell or a Python file and place the cursor where get_secret('NAME') should go.",
      );
    }
    const secret = await targetSecret(repository, arg, 'Secret to insert');
    const fn = secret.encoding === 'base64' ? 'get_secret_bytes' : 'get_secret';
    const call = `${fn}(${callArguments(repository, secret, fn)})`;
    if ('edit' in target) {
      await target.edit((edit) => {
        for (const selection of target.selections) edit.replace(selection, call);
      });
      return;
    }
    // A selected cell whose editor is not on screen: add the call on a new last line.
    const edit = new vscode.WorkspaceEdit();
    const end = target.lineAt(target.lineCount - 1).range.end;
    edit.insert(target.uri, end, target.getText() === '' ? call : `\n${call}`);
    await vscode.workspace.applyEdit(edit);
  }

  return { insertGetSecret };
}

/**
 * The call's arguments: the name, and the scope when another secret of that name comes first by
 * precedence and the scope picks this one; otherwise a warning says which one the call reads.
 */
function callArguments(repository: SecretRepository, secret: IndexEntry, fn: string): string {
  let args = `'${secret.name}'`;
  const winner = repository.resolve(secret.name);
  if (!winner || winner.id === secret.id) return args;
  const kind = secret.scope.kind;
  if (!sharedBy(secret) && repository.resolve(secret.name, { scope: kind })?.id === secret.id) {
    args += `, scope='${kind}'`;
  } else {
    const owner = sharedBy(secret);
    const first =
      winner.scope.kind === 'personal' ? 'your own' : `the ${winner.scope.kind} ${winner.scope.id}`;
    void vscode.window.showWarningMessage(
      `${fn}('${secret.name}') reads ${first} '${secret.name}' first${owner ? `; ${owner}'s shared one is read only where you have no secret of that name` : ''}.`,
    );
  }
  return args;
}

/**
 * Where Insert get_secret writes: the active text editor (a Python file, or the notebook cell being
 * edited), else the selected code cell of the active notebook (its editor when it is on screen, else
 * its document).
 */
function insertionTarget(): vscode.TextEditor | vscode.TextDocument | undefined {
  if (vscode.window.activeTextEditor) return vscode.window.activeTextEditor;
  const notebook = vscode.window.activeNotebookEditor;
  if (!notebook || notebook.notebook.cellCount === 0) return undefined;
  const cell = notebook.notebook.cellAt(notebook.selection.start);
  if (cell.kind !== vscode.NotebookCellKind.Code) return undefined;
  const uri = cell.document.uri.toString();
  return (
    vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri) ?? cell.document
  );
}
