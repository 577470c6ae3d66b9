/**
 * Drives every command with a unique value and checks that the value shows up nowhere but where the
 * user asked to see it (Reveal's modal) or put it (SecretStorage, the clipboard on Copy).
 */
import { afterEach, expect, it } from 'vitest';
import { storedIndex } from '../../support/storedIndex';
import { Uri, workspace, type PromptCall } from '../fakes/vscode';
import { activateExtension } from './harness';

const CANARY = `canary-${crypto.randomUUID()}`;
const FILE_CANARY = `file-canary-${crypto.randomUUID()}`;
let h: Awaited<ReturnType<typeof activateExtension>> | undefined;
afterEach(() => h?.dispose());

const pick = (label: string) => (call: PromptCall) =>
  (call.items as { label: string }[]).find((i) => i.label.startsWith(label));

it('a secret value appears in no log line, index, setting, message or error', async () => {
  h = await activateExtension();
  const { run, ui, secrets, logLines, context } = h;
  const node = () => {
    const [secret] = storedIndex(secrets.data).entries;
    return { kind: 'secret', secret };
  };

  ui.answer('CANARY_SECRET', CANARY, pick('Token'), 'a canary');
  await run('notebookSecrets.new');
  ui.answer(pick('Value'), `${CANARY}-2`);
  await run('notebookSecrets.edit', node());
  ui.answer(pick('Description'), 'still a canary');
  await run('notebookSecrets.edit', node());
  ui.answer(pick('Type'), pick('Password'));
  await run('notebookSecrets.edit', node());
  ui.answer('Copy');
  await run('notebookSecrets.reveal', node());
  await run('notebookSecrets.copy', node());
  ui.answer(undefined);
  await run('notebookSecrets.share', node());
  await run('notebookSecrets.insertGetSecret', node()); // no editor: an error message
  await run('notebookSecrets.refresh');
  ui.answer(['CANARY', 'accept']);
  await run('notebookSecrets.filter');
  await run('notebookSecrets.clearFilter');
  workspace.fs.files.set('/k.pem', new TextEncoder().encode(FILE_CANARY));
  ui.answer([Uri.file('/k.pem')], 'FILE_CANARY', '');
  await run('notebookSecrets.newFromFile');
  // A duplicate name: the store refuses, and the error must not carry the value.
  ui.answer('CANARY_SECRET', CANARY, pick('Key'), '');
  await run('notebookSecrets.new');
  ui.answer('Delete');
  await run('notebookSecrets.delete', node());

  const revealModal = ui.calls.find((c) => c.kind === 'info' && c.message === 'CANARY_SECRET');
  expect((revealModal?.options as { detail: string }).detail).toBe(`${CANARY}-2`);
  const shown = ui.calls
    .filter((c) => c !== revealModal)
    .map((c) => JSON.stringify({ ...c, options: c.options, items: c.items }));
  const fileBase64 = Buffer.from(FILE_CANARY).toString('base64');
  for (const canary of [CANARY, FILE_CANARY, fileBase64]) {
    for (const line of logLines) expect(line).not.toContain(canary);
    for (const text of shown) expect(text).not.toContain(canary);
    expect(storedIndex(secrets.data).text).not.toContain(canary);
    // Only value keys hold values; sync bookkeeping, mementos and settings never do.
    for (const [key, stored] of secrets.data) {
      if (!key.startsWith('notebook-secrets/value/')) expect(stored).not.toContain(canary);
    }
    expect(JSON.stringify([...context.globalState.data])).not.toContain(canary);
    expect(JSON.stringify([...context.workspaceState.data])).not.toContain(canary);
    expect(
      JSON.stringify(workspace.getConfiguration('notebookSecrets').get('server.url', '')),
    ).not.toContain(canary);
  }
  expect(ui.messages('error')).toEqual([
    "Open a notebook cell or a Python file and place the cursor where get_secret('NAME') should go.",
    "A secret named 'CANARY_SECRET' already exists in this scope.",
  ]);
  expect(logLines.length).toBeGreaterThan(5);
});
