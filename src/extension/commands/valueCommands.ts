/**
 * Reveal and Copy: the two commands that show a value or put it on the clipboard (cleared after
 * the configured time, if nothing else was copied since). A file secret is saved to a file
 * instead, or copied as its text or base64.
 */
import * as vscode from 'vscode';
import { base64ToBytes, formatBytes, isUtf8, type SecretMetadata } from '../../core';
import type { SecretRepository } from '../storage/secretRepository';
import { targetSecret } from '../views/pickSecret';

export function valueCommands(
  repository: SecretRepository,
  log: vscode.LogOutputChannel,
  clipboardClearSeconds: () => number,
) {
  async function reveal(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to reveal');
    const { value, encoding } = await repository.getValue(secret.id);
    log.info(`Revealed ${secret.name}.`);
    if (encoding === 'base64') {
      await revealFile(secret, value);
      return;
    }
    const action = await vscode.window.showInformationMessage(
      secret.name,
      { modal: true, detail: value },
      'Copy',
    );
    if (action === 'Copy') await copyText(secret.name, value);
  }

  async function revealFile(secret: SecretMetadata, base64: string): Promise<void> {
    const bytes = base64ToBytes(base64);
    const action = await vscode.window.showInformationMessage(
      secret.name,
      { modal: true, detail: `A file of ${formatBytes(bytes.byteLength)}, stored base64.` },
      'Save to File…',
      'Copy base64',
    );
    if (action === 'Save to File…') await saveToFile(secret, bytes);
    if (action === 'Copy base64') await copyText(secret.name, base64);
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
    if (seconds > 0) clearClipboardLater(text, seconds);
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

  return { reveal, copy };
}

/** Empties the clipboard after `seconds`, unless it holds something else by then. */
function clearClipboardLater(text: string, seconds: number): void {
  setTimeout(() => {
    void vscode.env.clipboard.readText().then((current) => {
      if (current === text) void vscode.env.clipboard.writeText('');
    });
  }, seconds * 1000).unref?.();
}
