import * as vscode from 'vscode';

/** Thrown when the user dismisses a prompt: the command ends quietly. */
export class Cancelled extends Error {
  constructor() {
    super('Cancelled');
  }
}

/** Returns the answer of a prompt, or ends the command quietly when the user pressed Escape. */
export function answered<T>(value: T | undefined): T {
  if (value === undefined) throw new Cancelled();
  return value;
}

/**
 * Registers a command through one wrapper: a dismissed prompt is silent, any other failure is
 * logged and shown with a "Show Log" action. Messages come from typed errors, which never carry a
 * secret value.
 */
export function registerCommand(
  id: string,
  handler: (...args: never[]) => unknown,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await (handler as (...a: unknown[]) => unknown)(...args);
    } catch (error) {
      if (error instanceof Cancelled) return undefined;
      const message = error instanceof Error ? error.message : String(error);
      log.error(`${id} failed: ${message}`);
      const action = await vscode.window.showErrorMessage(message, 'Show Log');
      if (action === 'Show Log') log.show();
      return undefined;
    }
  });
}
