/** Activates the real extension against the fake vscode module, with an in-memory SecretStorage. */
import * as vscode from 'vscode';
import { activate } from '../../../src/extension/extension';
import { FakeMemento, FakeSecretStorage, logLines, ui } from '../fakes/vscode';

/** `seed` fills SecretStorage before activation (e.g. an index written by sync). */
export async function activateExtension(
  seed?: (secrets: FakeSecretStorage) => Promise<void>,
  globalStorage?: string,
) {
  const started = await startExtension(seed, globalStorage);
  const api = await started.activated;
  await api.ready();
  return { ...started, api };
}

/**
 * Starts activation without waiting for anything: `activated` is activate()'s promise (its
 * `ready()` waits for the store's first load); `holdGets` in `seed` keeps that load pending.
 * `globalStorage` is the folder of the extension's global storage.
 */
export async function startExtension(
  seed?: (secrets: FakeSecretStorage) => Promise<void>,
  globalStorage = '/nonexistent/global-storage',
) {
  ui.reset();
  const secrets = new FakeSecretStorage();
  await seed?.(secrets);
  const context = {
    subscriptions: [] as { dispose(): unknown }[],
    secrets,
    globalState: new FakeMemento(),
    workspaceState: new FakeMemento(),
    extensionPath: process.cwd(),
    globalStorageUri: vscode.Uri.file(globalStorage),
  };
  const activated = activate(context as unknown as vscode.ExtensionContext);
  const run = (id: string, ...args: unknown[]) => vscode.commands.executeCommand(id, ...args);
  const dispose = () => context.subscriptions.forEach((d) => d.dispose());
  /** Runs "New Secret" as a user would, answering a password's name and value. */
  const newPassword = async (name: string, value: string) => {
    ui.answer(
      name,
      value,
      (call: { items?: { label: string }[] }) =>
        call.items!.find((i) => i.label.startsWith('Password')),
      '',
    );
    await run('notebookSecrets.new');
  };
  return { activated, secrets, context, run, dispose, ui, logLines, newPassword };
}
