/** New, New from File, Edit, Reveal, Copy, Delete and Insert: the commands on one secret. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  bytesToBase64,
  formatBytes,
  isUtf8,
  base64ToBytes,
  MAX_FILE_BYTES,
  PERSONAL,
  sharedBy,
  type SecretMetadata,
} from '../../core';
import {
  deleteDetail,
  deleteQuestion,
  fileTooLargeMessage,
  nameFromFile,
  savedFileMessage,
  savedMessage,
} from '../../core/viewText';
import { askDescription, askName, askType, askValue } from '../dialogs/prompts';
import type { SecretRepository } from '../storage/secretRepository';
import { targetSecret } from '../views/pickSecret';
import { answered } from '../registerCommand';

export interface SecretCommandDeps {
  repository: SecretRepository;
  log: vscode.LogOutputChannel;
  clipboardClearSeconds: () => number;
}

export function secretCommands({ repository, log, clipboardClearSeconds }: SecretCommandDeps) {
  const isTaken = (name: string) => repository.find(name, PERSONAL) !== undefined;

  /** New Secret; `prefill` is the name a notebook asks for ("Add…" in This Notebook). */
  async function newSecret(prefill?: unknown): Promise<SecretMetadata> {
    const steps = { title: 'New Secret', of: 4 };
    const suggested = neededName(prefill);
    const name = await askName(
      { ...steps, step: 1 },
      { isTaken, ...(suggested && { value: suggested }) },
    );
    const value = await askValue({ ...steps, step: 2 }, name);
    const type = await askType({ ...steps, step: 3 });
    const description = await askDescription({ ...steps, step: 4 });
    const secret = await repository.create({ name, value, type, description });
    log.info(`Created secret ${name} (${type}).`);
    void vscode.window.showInformationMessage(savedMessage(name));
    return secret;
  }

  async function newSecretFromFile(uri?: vscode.Uri): Promise<SecretMetadata> {
    const file =
      uri instanceof vscode.Uri
        ? uri
        : answered(
            await vscode.window.showOpenDialog({
              canSelectMany: false,
              openLabel: 'Store as Secret',
              title: 'New Secret from File',
            }),
          )[0];
    if (!file) return answered<SecretMetadata>(undefined);
    const label = path.basename(file.path);
    const stat = await vscode.workspace.fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) throw fileTooLarge(label, stat.size);
    const bytes = await vscode.workspace.fs.readFile(file);
    if (bytes.byteLength > MAX_FILE_BYTES) throw fileTooLarge(label, bytes.byteLength);

    const steps = { title: `New Secret from ${label}`, of: 2 };
    const name = await askName({ ...steps, step: 1 }, { value: nameFromFile(label), isTaken });
    const description = await askDescription({ ...steps, step: 2 }, `From ${label}`);
    const secret = await repository.create({
      name,
      value: bytesToBase64(bytes),
      encoding: 'base64',
      type: 'file',
      description,
    });
    log.info(`Created file secret ${name} from ${label} (${formatBytes(bytes.byteLength)}).`);
    void vscode.window.showInformationMessage(savedFileMessage(label, name));
    return secret;
  }

  async function edit(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to edit');
    const missing = repository.isMissingValue(secret.id);
    const choice = missing
      ? 'value'
      : answered(
          await vscode.window.showQuickPick(
            [
              {
                label: secret.type === 'file' ? 'Value… (replace the file)' : 'Value…',
                field: 'value' as const,
              },
              {
                label: 'Description…',
                description: secret.description,
                field: 'description' as const,
              },
              { label: 'Type…', description: secret.type, field: 'type' as const },
            ],
            { title: `Edit ${secret.name}`, placeHolder: 'What to change' },
          ),
        ).field;
    const step = { title: `Edit ${secret.name}`, step: 1, of: 1 };
    if (choice === 'value') {
      if (secret.type === 'file') {
        const file = answered(
          await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use This File' }),
        )[0];
        if (!file) return;
        const bytes = await vscode.workspace.fs.readFile(file);
        if (bytes.byteLength > MAX_FILE_BYTES)
          throw fileTooLarge(path.basename(file.path), bytes.byteLength);
        await repository.update(secret.id, { value: bytesToBase64(bytes), encoding: 'base64' });
      } else {
        await repository.update(secret.id, {
          value: await askValue(step, secret.name),
          encoding: 'text',
        });
      }
    } else if (choice === 'description') {
      await repository.update(secret.id, {
        description: await askDescription(step, secret.description),
      });
    } else {
      await repository.update(secret.id, {
        type: await askType(step, secret.type, secret.type === 'file'),
      });
    }
    log.info(`Updated the ${choice} of ${secret.name}.`);
    void vscode.window.setStatusBarMessage(`Updated ${secret.name}.`, 3000);
  }

  async function reveal(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to reveal');
    const { value, encoding } = await repository.getValue(secret.id);
    log.info(`Revealed ${secret.name}.`);
    if (encoding === 'base64') {
      const bytes = base64ToBytes(value);
      const action = await vscode.window.showInformationMessage(
        secret.name,
        { modal: true, detail: `A file of ${formatBytes(bytes.byteLength)}, stored base64.` },
        'Save to File…',
        'Copy base64',
      );
      if (action === 'Save to File…') await saveToFile(secret, bytes);
      if (action === 'Copy base64') await copyText(secret.name, value);
      return;
    }
    const action = await vscode.window.showInformationMessage(
      secret.name,
      { modal: true, detail: value },
      'Copy',
    );
    if (action === 'Copy') await copyText(secret.name, value);
  }

  async function copy(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to copy');
    const { value, encoding } = await repository.getValue(secret.id);
    if (encoding === 'base64') {
      const bytes = base64ToBytes(value);
      // A text file (a PEM key, a JSON credential) is copied as its text; anything else as base64.
      await copyText(secret.name, isUtf8(bytes) ? Buffer.from(bytes).toString('utf8') : value);
    } else {
      await copyText(secret.name, value);
    }
  }

  async function copyText(name: string, text: string): Promise<void> {
    await vscode.env.clipboard.writeText(text);
    log.info(`Copied ${name} to the clipboard.`);
    const seconds = clipboardClearSeconds();
    void vscode.window.showInformationMessage(
      seconds > 0
        ? `Copied ${name} to the clipboard. It will be cleared in ${seconds} seconds.`
        : `Copied ${name} to the clipboard.`,
    );
    if (seconds > 0) {
      setTimeout(() => {
        void vscode.env.clipboard.readText().then((current) => {
          if (current === text) void vscode.env.clipboard.writeText('');
        });
      }, seconds * 1000).unref?.();
    }
  }

  async function saveToFile(secret: SecretMetadata, bytes: Uint8Array): Promise<void> {
    const target = await vscode.window.showSaveDialog({
      title: `Save ${secret.name} to a file`,
      saveLabel: 'Save',
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, bytes);
    log.info(`Saved ${secret.name} to ${target.fsPath}.`);
  }

  async function remove(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to delete');
    const confirmed = await vscode.window.showWarningMessage(
      deleteQuestion(secret.name),
      { modal: true, detail: deleteDetail(secret.name, 'VS Code SecretStorage') },
      'Delete',
    );
    if (confirmed !== 'Delete') return;
    await repository.delete(secret.id);
    log.info(`Deleted secret ${secret.name}.`);
    void vscode.window.setStatusBarMessage(`Deleted ${secret.name}.`, 3000);
  }

  async function insertGetSecret(arg?: unknown): Promise<void> {
    const target = insertionTarget();
    if (!target) {
      throw new Error(
        "Open a notebook cell or a Python file and place the cursor where get_secret('NAME') should go.",
      );
    }
    const secret = await targetSecret(repository, arg, 'Secret to insert');
    const fn = secret.encoding === 'base64' ? 'get_secret_bytes' : 'get_secret';
    let args = `'${secret.name}'`;
    const winner = repository.resolve(secret.name);
    if (winner && winner.id !== secret.id) {
      // Another secret of that name comes first by precedence: name the scope when that picks
      // this one, else say which one the call reads.
      const kind = secret.scope.kind;
      if (!sharedBy(secret) && repository.resolve(secret.name, { scope: kind })?.id === secret.id) {
        args += `, scope='${kind}'`;
      } else {
        const owner = sharedBy(secret);
        const first =
          winner.scope.kind === 'personal'
            ? 'your own'
            : `the ${winner.scope.kind} ${winner.scope.id}`;
        void vscode.window.showWarningMessage(
          `${fn}('${secret.name}') reads ${first} '${secret.name}' first${owner ? `; ${owner}'s shared one is read only where you have no secret of that name` : ''}.`,
        );
      }
    }
    const call = `${fn}(${args})`;
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

  return { newSecret, newSecretFromFile, edit, reveal, copy, remove, insertGetSecret };
}

/** The name from "Add…" on a needed secret (its tree node) or a caller's string. */
function neededName(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const node = arg as { kind?: unknown; item?: { name?: unknown } } | null | undefined;
  return node?.kind === 'needed' && typeof node.item?.name === 'string'
    ? node.item.name
    : undefined;
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

function fileTooLarge(label: string, bytes: number): Error {
  return new Error(fileTooLargeMessage(label, bytes));
}
