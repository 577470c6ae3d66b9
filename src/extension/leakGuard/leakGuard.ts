/**
 * The leak guard: hard-coded key warnings and their quick fixes, the save guard and Scan Workspace
 * for Secrets. With the scanner (secretlint's rule preset), it is loaded after activation, in a
 * bundle chunk of its own (`import()` in extension.ts), so activation does not read it.
 */
import * as vscode from 'vscode';
import type { SecretRepository } from '../storage/secretRepository';
import { registerHardCodedKeyActions } from './hardCodedKeys';
import { SaveGuard } from './saveGuard';
import { StoredValueIndex } from './storedValueIndex';
import { WorkspaceScan } from './workspaceScan';

export interface LeakGuard extends vscode.Disposable {
  /** Scan Workspace for Secrets. */
  scanWorkspace(): Promise<unknown>;
  /** Move Hard-Coded Key to Notebook Secrets (a quick fix's command). */
  moveKey(document: vscode.TextDocument, at: number): Promise<unknown>;
}

export function startLeakGuard(deps: {
  repository: SecretRepository;
  log: vscode.LogOutputChannel;
}): LeakGuard {
  const index = new StoredValueIndex(deps.repository);
  const scan = new WorkspaceScan({ index, log: deps.log });
  const keys = registerHardCodedKeyActions({ ...deps, index });
  const parts = vscode.Disposable.from(keys, new SaveGuard({ ...deps, index }), scan);
  return {
    scanWorkspace: () => scan.run(),
    moveKey: (document, at) => keys.move(document, at),
    dispose: () => void parts.dispose(),
  };
}
