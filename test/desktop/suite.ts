// The desktop suite: runs inside a real VS Code desktop extension host (@vscode/test-electron),
// started by scripts/testDesktop.mjs when VSCODE_EXECUTABLE points at a VS Code build. It checks
// what the extension host alone can prove: activation, the contributed commands, and the
// storage round trip through the real SecretStorage. The prompt-driven flows run in the
// code-server e2e suite, which types into the real input boxes.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'notebook-secrets.notebook-secrets';

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
