/**
 * The extension's entry: CommonJS, so that the calls the Jupyter extension attributes to a caller
 * by its call stack come from a file path it recognises (see jupyterCalls.ts). Everything else is
 * the ES module extension.mjs and the chunks it loads when first used.
 */
import type * as vscode from 'vscode';
// Bundled into this file, so the calls' frames are this file's path.
import { DIRECT_CALLS } from './jupyterCalls';
import type * as main from './extension';

let loaded: typeof main | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<unknown> {
  // An import() at run time, of the ES module built next to this file.
  const specifier: string = './extension.mjs';
  loaded = (await import(specifier)) as typeof main;
  return loaded.activate(context, DIRECT_CALLS);
}

export function deactivate(): void {
  loaded?.deactivate();
}
