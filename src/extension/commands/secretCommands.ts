/**
 * The commands on one secret, a file per concern: New and New from File (creationCommands.ts),
 * Edit and Delete (editCommands.ts), Reveal and Copy (valueCommands.ts), Insert get_secret
 * (insertCommands.ts).
 */
import type * as vscode from 'vscode';
import type { SecretRepository } from '../storage/secretRepository';
import { creationCommands } from './creationCommands';
import { editCommands } from './editCommands';
import { insertCommands } from './insertCommands';
import { valueCommands } from './valueCommands';

export interface SecretCommandDeps {
  repository: SecretRepository;
  log: vscode.LogOutputChannel;
  clipboardClearSeconds: () => number;
}

export function secretCommands({ repository, log, clipboardClearSeconds }: SecretCommandDeps) {
  return {
    ...creationCommands(repository, log),
    ...editCommands(repository, log),
    ...valueCommands(repository, log, clipboardClearSeconds),
    ...insertCommands(repository),
  };
}
