import * as vscode from 'vscode';
import { PERSONAL, type SecretMetadata } from '../../core';
import type { SecretRepository } from '../storage/secretRepository';
import type { SecretsNode } from './secretsTree';
import { answered } from '../registerCommand';

/**
 * The secret a command acts on: the tree item it was invoked on, a name passed by another
 * command, or, from the palette, one the user picks.
 */
export async function targetSecret(
  repository: SecretRepository,
  arg: unknown,
  placeHolder: string,
): Promise<SecretMetadata> {
  if (isSecretNode(arg)) return repository.get(arg.secret.id) ?? arg.secret;
  if (typeof arg === 'string') {
    const found = repository.find(arg, PERSONAL) ?? repository.resolve(arg);
    if (found) return found;
  }
  const secrets = [...repository.list()].sort((a, b) => a.name.localeCompare(b.name));
  if (secrets.length === 0) {
    void vscode.window.showInformationMessage(
      'There are no secrets yet. Create one with "New Secret".',
    );
    return answered<SecretMetadata>(undefined);
  }
  const picked = await vscode.window.showQuickPick(
    secrets.map((secret) => ({
      label: secret.name,
      description: secret.type,
      detail: secret.description || undefined,
      secret,
    })),
    { placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return answered(picked).secret;
}

function isSecretNode(arg: unknown): arg is Extract<SecretsNode, { kind: 'secret' }> {
  return typeof arg === 'object' && arg !== null && (arg as { kind?: unknown }).kind === 'secret';
}
