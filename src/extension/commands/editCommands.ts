/** Edit (the value, description or type of a secret) and Delete. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { bytesToBase64, MAX_FILE_BYTES, type IndexEntry } from '../../core';
import { deleteDetail, deleteQuestion, fileTooLargeMessage } from '../../core/viewText';
import { askDescription, askType, askValue } from '../dialogs/prompts';
import type { SecretRepository } from '../storage/secretRepository';
import { targetSecret } from '../views/pickSecret';
import { answered } from '../registerCommand';

type Field = 'value' | 'description' | 'type';

export function editCommands(repository: SecretRepository, log: vscode.LogOutputChannel) {
  async function edit(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to edit');
    const field = repository.isMissingValue(secret.id) ? 'value' : await pickField(secret);
    const step = { title: `Edit ${secret.name}`, step: 1, of: 1 };
    if (field === 'value') {
      if (secret.type === 'file') {
        const bytes = await askReplacementFile();
        if (!bytes) return;
        await repository.update(secret.id, { value: bytesToBase64(bytes), encoding: 'base64' });
      } else {
        await repository.update(secret.id, {
          value: await askValue(step, secret.name),
          encoding: 'text',
        });
      }
    } else if (field === 'description') {
      await repository.update(secret.id, {
        description: await askDescription(step, secret.description),
      });
    } else {
      await repository.update(secret.id, {
        type: await askType(step, secret.type, secret.type === 'file'),
      });
    }
    log.info(`Updated the ${field} of ${secret.name}.`);
    void vscode.window.setStatusBarMessage(`Updated ${secret.name}.`, 3000);
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

  return { edit, remove };
}

async function pickField(secret: IndexEntry): Promise<Field> {
  return answered(
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
}

/** The bytes of the file that replaces a file secret's; undefined when none was picked. */
async function askReplacementFile(): Promise<Uint8Array | undefined> {
  const file = answered(
    await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use This File' }),
  )[0];
  if (!file) return undefined;
  const bytes = await vscode.workspace.fs.readFile(file);
  if (bytes.byteLength > MAX_FILE_BYTES) {
    throw new Error(fileTooLargeMessage(path.basename(file.path), bytes.byteLength));
  }
  return bytes;
}
