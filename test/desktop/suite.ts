// The desktop suite: runs inside a real VS Code desktop extension host (@vscode/test-electron),
// started by scripts/testDesktop.mjs when VSCODE_EXECUTABLE points at a VS Code build. It runs the
// e2e suite's flows through the API: the suite shares the extension's `vscode` API object (it
// lives in the extension's folder), so it answers the extension's prompts by replacing
// `window.showInputBox` and friends with scripted answers, and the values go through the real
// SecretStorage of VS Code desktop (the OS keychain, or --password-store=basic).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'notebook-secrets.notebook-secrets';
const NAME = 'DESKTOP_SUITE_KEY';
/** An answer that dismisses the prompt, as Escape does. */
const ESCAPE = Symbol('escape');
type Answer = string | typeof ESCAPE;

interface Seen {
  inputs: vscode.InputBoxOptions[];
  modals: { message: string; detail?: string }[];
  infos: string[];
}

/**
 * Runs `body` while the extension's prompts take their answers from `answers`, in order: an input
 * box gets the text, a quick pick the item whose label starts with it, a modal the button. Restores
 * the real prompts afterwards and reports what was asked.
 */
async function answering(answers: Answer[], body: () => Thenable<unknown>): Promise<Seen> {
  const window = vscode.window as unknown as Record<string, unknown>;
  const names = ['showInputBox', 'showQuickPick', 'showInformationMessage', 'showWarningMessage'];
  const originals = Object.fromEntries(names.map((n) => [n, window[n]]));
  const queue = [...answers];
  const seen: Seen = { inputs: [], modals: [], infos: [] };
  const next = (): Answer => queue.shift() ?? ESCAPE;
  window.showInputBox = (options: vscode.InputBoxOptions = {}) => {
    seen.inputs.push(options);
    const answer = next();
    return Promise.resolve(answer === ESCAPE ? undefined : answer);
  };
  window.showQuickPick = async (
    items: readonly vscode.QuickPickItem[] | Thenable<readonly vscode.QuickPickItem[]>,
  ) => {
    const answer = next();
    if (answer === ESCAPE) return undefined;
    return (await items).find((i) => i.label.replace(/^\$\([^)]*\)\s*/, '').startsWith(answer));
  };
  const message = (message: string, ...rest: unknown[]) => {
    const options = rest[0] as vscode.MessageOptions | undefined;
    if (!options?.modal) {
      seen.infos.push(message);
      return Promise.resolve(undefined);
    }
    seen.modals.push({ message, detail: options.detail });
    const answer = next();
    return Promise.resolve(answer === ESCAPE ? undefined : answer);
  };
  window.showInformationMessage = message;
  window.showWarningMessage = message;
  try {
    await body();
  } finally {
    Object.assign(window, originals);
  }
  assert.deepEqual(queue, [], 'every scripted answer was asked for');
  return seen;
}

interface Case {
  name: string;
  run(): Promise<void>;
}

const cases: Case[] = [
  {
    name: 'activates when its view opens, and registers every contributed command',
    async run() {
      await vscode.commands.executeCommand('workbench.view.extension.notebookSecrets');
      const extension = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(extension, `${EXTENSION_ID} is installed`);
      await extension.activate();
      const contributed = (
        extension.packageJSON as { contributes: { commands: { command: string }[] } }
      ).contributes.commands.map((c) => c.command);
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(
        contributed.filter((id) => !registered.has(id)),
        [],
      );
    },
  },
  {
    name: 'Refresh and Clear Filter run without prompts or errors',
    async run() {
      await vscode.commands.executeCommand('notebookSecrets.refresh');
      await vscode.commands.executeCommand('notebookSecrets.clearFilter');
    },
  },
  {
    name: 'Insert get_secret with no secrets changes nothing and raises no error',
    async run() {
      const document = await vscode.workspace.openTextDocument({ language: 'python', content: '' });
      await vscode.window.showTextDocument(document);
      await vscode.commands.executeCommand('notebookSecrets.insertGetSecret', 'OPENAI_API_KEY');
      assert.equal(document.getText(), '');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    },
  },
  {
    name: 'New, Copy, Edit, Reveal and Delete a secret, with the value in SecretStorage',
    async run() {
      const value = `sk-desktop-${Date.now()}`;
      await answering([NAME, value, 'Token', 'desktop suite'], () =>
        vscode.commands.executeCommand('notebookSecrets.new'),
      );
      await vscode.commands.executeCommand('notebookSecrets.copy', NAME);
      assert.equal(await vscode.env.clipboard.readText(), value);

      const edited = `${value}-2`;
      await answering(['Value…', edited], () =>
        vscode.commands.executeCommand('notebookSecrets.edit', NAME),
      );
      const shown = await answering(['Copy'], () =>
        vscode.commands.executeCommand('notebookSecrets.reveal', NAME),
      );
      assert.equal(shown.modals[0]?.detail, edited);
      assert.equal(await vscode.env.clipboard.readText(), edited);

      const deleted = await answering(['Delete'], () =>
        vscode.commands.executeCommand('notebookSecrets.delete', NAME),
      );
      assert.match(deleted.modals[0]?.message ?? '', new RegExp(`Delete the secret '${NAME}'`));
      const after = await answering([], () =>
        vscode.commands.executeCommand('notebookSecrets.copy', NAME),
      );
      assert.deepEqual(after.infos, ['There are no secrets yet. Create one with "New Secret".']);
    },
  },
  {
    name: 'an invalid name is refused as it is typed, and Escape stores nothing',
    async run() {
      const seen = await answering([ESCAPE], () =>
        vscode.commands.executeCommand('notebookSecrets.new'),
      );
      const validate = seen.inputs[0]?.validateInput;
      assert.ok(validate, 'the name step validates as you type');
      assert.match(String(await validate('my-key')), /letters, digits or underscores/);
      assert.match(String(await validate('1ABC')), /cannot start with a digit/);
      assert.equal(await validate('MY_KEY'), undefined);
      const none = await answering([], () =>
        vscode.commands.executeCommand('notebookSecrets.copy', 'MY_KEY'),
      );
      assert.equal(none.infos.length, 1);
    },
  },
];

/** Entry point called by @vscode/test-electron. Rejects when any case fails. */
export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const c of cases) {
    try {
      await c.run();
      console.log(`  ✓ ${c.name}`);
    } catch (error) {
      console.log(`  ✗ ${c.name}\n    ${error instanceof Error ? error.message : String(error)}`);
      failures.push(c.name);
    }
  }
  if (failures.length > 0) throw new Error(`${failures.length} desktop test(s) failed`);
}
