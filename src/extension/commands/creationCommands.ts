/** New Secret (also "Add…" on a secret a notebook needs) and New Secret from File. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  bytesToBase64,
  formatBytes,
  MAX_FILE_BYTES,
  PERSONAL,
  type SecretMetadata,
} from '../../core';
import {
  fileTooLargeMessage,
  nameFromFile,
  savedFileMessage,
  savedMessage,
} from '../../core/viewText';
import { askDescription, askName, askType, askValue } from '../dialogs/prompts';
import type { SecretRepository } from '../storage/secretRepository';
import { answered } from '../registerCommand';

export function creationCommands(repository: SecretRepository, log: vscode.LogOutputChannel) {
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
    const file = uri instanceof vscode.Uri ? uri : await askFile();
    if (!file) return answered<SecretMetadata>(undefined);
    const label = path.basename(file.path);
    const stat = await vscode.workspace.fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) throw new Error(fileTooLargeMessage(label, stat.size));
    const bytes = await vscode.workspace.fs.readFile(file);
    if (bytes.byteLength > MAX_FILE_BYTES) {
      throw new Error(fileTooLargeMessage(label, bytes.byteLength));
    }

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

  return { newSecret, newSecretFromFile };
}

async function askFile(): Promise<vscode.Uri | undefined> {
  return answered(
    await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Store as Secret',
      title: 'New Secret from File',
    }),
  )[0];
}

/** The name from "Add…" on a needed secret (its tree node) or a caller's string. */
function neededName(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const node = arg as { kind?: unknown; item?: { name?: unknown } } | null | undefined;
  return node?.kind === 'needed' && typeof node.item?.name === 'string'
    ? node.item.name
    : undefined;
}
