// Which extension is calling the API: the real Jupyter extension hands each caller an API of its
// own, found from the call stack (src/platform/common/application/extensions.node.ts,
// determineExtensionFromCallStack): the first frame outside the Jupyter extension's own folder
// that lies inside another installed extension's folder names the caller.
import * as vscode from 'vscode';

export const JUPYTER_EXTENSION_ID = 'ms-toolsai.jupyter';
export const UNKNOWN_EXTENSION_ID = 'unknown';

export function callerExtensionId(stack = new Error().stack ?? ''): string {
  const self = vscode.extensions.getExtension(JUPYTER_EXTENSION_ID);
  const ownRoot = self?.extensionUri.fsPath.toLowerCase();
  const files = stack
    .split('\n')
    .map((line) => /\(?((?:[A-Za-z]:)?[\\/][^():]+):\d+:\d+\)?\s*$/.exec(line)?.[1]?.toLowerCase())
    .filter((file): file is string => !!file && (!ownRoot || !file.startsWith(ownRoot)));
  for (const file of files) {
    const owner = vscode.extensions.all.find(
      (ext) =>
        ext.id !== JUPYTER_EXTENSION_ID && file.startsWith(ext.extensionUri.fsPath.toLowerCase()),
    );
    if (owner) return owner.id;
  }
  return UNKNOWN_EXTENSION_ID;
}
