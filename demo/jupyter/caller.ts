// Which extension is calling the API: the real Jupyter extension hands each caller an API of its
// own, found from the call stack (src/platform/common/application/extensions.node.ts,
// determineExtensionFromCallStack): the first frame outside the Jupyter extension's own folder
// whose file path starts with another installed extension's folder (its `extensionUri.fsPath` or
// `.path`) names the caller. A frame of an ES module is a `file:` URL, not a path: it names no
// extension, as in the real one, and a caller found nowhere is an unknown extension.
import * as vscode from 'vscode';

export const JUPYTER_EXTENSION_ID = 'ms-toolsai.jupyter';
export const UNKNOWN_EXTENSION_ID = 'unknown';

/** The file of each frame, as written in the stack: `at fn (FILE:1:2)` or `at FILE:1:2`. */
function frameFiles(stack: string): string[] {
  return stack
    .split('\n')
    .map((line) => {
      const inParens = /\((.*):\d+:\d+\)\s*$/.exec(line)?.[1];
      return inParens ?? /^\s*at (.*):\d+:\d+\s*$/.exec(line)?.[1];
    })
    .filter((file): file is string => !!file);
}

export function callerExtensionId(stack = new Error().stack ?? ''): string {
  const own = vscode.extensions.getExtension(JUPYTER_EXTENSION_ID)?.extensionUri;
  const ownRoots = own ? [own.fsPath.toLowerCase(), own.toString().toLowerCase()] : [];
  const files = frameFiles(stack)
    .map((file) => file.toLowerCase())
    .filter((file) => !ownRoots.some((root) => file.startsWith(root)));
  for (const file of files) {
    const owner = vscode.extensions.all.find(
      (ext) =>
        ext.id !== JUPYTER_EXTENSION_ID &&
        (file.startsWith(ext.extensionUri.fsPath.toLowerCase()) ||
          file.startsWith(ext.extensionUri.path.toLowerCase())),
    );
    if (owner) return owner.id;
  }
  return UNKNOWN_EXTENSION_ID;
}
