/**
 * The one wrapper every command runs through. A dismissed prompt (Escape) ends it quietly; an
 * error the user can act on shows with its actions and "Show Log"; any other failure is logged
 * and shown with "Show Log". Messages come from typed errors, which never carry a secret value.
 */
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

/** An error the user can act on: the message says what to do; `actions` offer it. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly actions: { title: string; run: () => unknown }[] = [],
  ) {
    super(message);
  }
}

/**
 * Registers `handler` as command `id`. The handler runs once `ready` settles (the store's first
 * load, which activation does not wait for), so no command sees the store before it is read.
 */
export function registerCommand(
  id: string,
  handler: (...args: never[]) => unknown,
  log: vscode.LogOutputChannel,
  ready: PromiseLike<unknown> = Promise.resolve(),
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      await ready;
      return await (handler as (...a: unknown[]) => unknown)(...args);
    } catch (error) {
      if (error instanceof Cancelled) return undefined;
      const message = error instanceof Error ? error.message : String(error);
      const actions = error instanceof UserFacingError ? error.actions : [];
      // An error the user can act on is expected; anything else is worth the log's attention.
      if (actions.length > 0 || error instanceof UserFacingError) log.warn(`${id}: ${message}`);
      else log.error(`${id} failed: ${message}`);
      const picked = await vscode.window.showErrorMessage(
        message,
        ...actions.map((a) => a.title),
        'Show Log',
      );
      if (picked === 'Show Log') log.show();
      else await actions.find((a) => a.title === picked)?.run();
      return undefined;
    }
  });
}
