import * as vscode from 'vscode';

/** An error the user can act on: the message says what to do; `actions` offer it. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly actions: { title: string; run: () => unknown }[] = [],
  ) {
    super(message);
  }
}

/** Runs a command body: shows UserFacingErrors with their actions, others with "Show Log". */
export function guarded<A extends unknown[]>(
  id: string,
  log: vscode.LogOutputChannel,
  work: (...args: A) => Promise<unknown>,
): (...args: A) => Promise<unknown> {
  return async (...args: A) => {
    try {
      return await work(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.warn(`${id}: ${message}`);
      const actions = error instanceof UserFacingError ? error.actions : [];
      const titles = [...actions.map((a) => a.title), 'Show Log'];
      const picked = await vscode.window.showErrorMessage(message, ...titles);
      if (picked === 'Show Log') log.show();
      else await actions.find((a) => a.title === picked)?.run();
      return undefined;
    }
  };
}
