import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COMMAND_IDS } from '../../../src/extension/commandIds';
import { nameFromFile } from '../../../src/core/viewText';
import { serverUrlProblem } from '../../../src/extension/serverTrust';
import { LocalSecretStore, MAX_FILE_BYTES } from '../../../src/core';
import {
  commands,
  env,
  NotebookCellKind,
  Uri,
  window,
  workspace,
  type PromptCall,
} from '../fakes/vscode';
import { storedIndex } from '../../support/storedIndex';
import { activateExtension } from './harness';

type Harness = Awaited<ReturnType<typeof activateExtension>>;
let h: Harness;

beforeEach(async () => {
  h = await activateExtension();
});
afterEach(() => h.dispose());

const pickLabel = (label: string) => (call: PromptCall) =>
  (call.items as { label: string }[]).find((i) => i.label.startsWith(label));

async function createSecret(name: string, value: string, type = 'Key', description = '') {
  h.ui.answer(name, value, pickLabel(type), description);
  await h.run('notebookSecrets.new');
}

function treeNode(name: string) {
  return { kind: 'secret', secret: storedList().find((s) => s.name === name)! };
}

function storedList(): {
  id: string;
  name: string;
  type: string;
  description: string;
  version: number;
}[] {
  return storedIndex(h.secrets.data).entries as ReturnType<typeof storedList>;
}

describe('commands', () => {
  it('registers every command that package.json contributes, and contributes every command it has', async () => {
    const pkg = (await import('../../../package.json')).default as {
      contributes: { commands: { command: string }[] };
    };
    const contributed = pkg.contributes.commands.map((c) => c.command);
    expect(commands.registered()).toEqual(expect.arrayContaining(contributed));
    expect(contributed).toEqual(expect.arrayContaining([...COMMAND_IDS]));
    const ours = commands.registered().filter((id) => id.startsWith('notebookSecrets.'));
    expect(contributed.slice().sort()).toEqual(ours.sort());
  });

  it('New asks name, value (as a password), type and description, then stores it', async () => {
    await createSecret('OPENAI_API_KEY', 'sk-test', 'Key', 'for the chat demo');
    const [nameStep, valueStep, typeStep, descriptionStep] = h.ui.calls;
    expect(nameStep).toMatchObject({ kind: 'input', options: { title: 'New Secret (1/4)' } });
    expect(valueStep).toMatchObject({
      kind: 'input',
      options: { password: true, title: 'New Secret (2/4)' },
    });
    expect(typeStep).toMatchObject({ kind: 'quickPick' });
    expect(descriptionStep).toMatchObject({
      kind: 'input',
      options: { title: 'New Secret (4/4)' },
    });
    expect(storedList()).toMatchObject([
      { name: 'OPENAI_API_KEY', type: 'key', description: 'for the chat demo' },
    ]);
    expect(h.ui.messages('info')).toContain(
      "Saved OPENAI_API_KEY. Use it in a cell with get_secret('OPENAI_API_KEY').",
    );
  });

  it('validates the name as you type, with the rule in the message', async () => {
    await createSecret('TAKEN', 'v');
    let validate: ((text: string) => string | undefined) | undefined;
    h.ui.answer((call: PromptCall) => {
      validate = (call.options as { validateInput: typeof validate }).validateInput;
      return undefined;
    });
    await h.run('notebookSecrets.new');
    expect(validate!('1abc')).toMatch(/^A name cannot start with a digit\. Use 1–128 letters/);
    expect(validate!('has space')).toMatch(/cannot contain a space/);
    expect(validate!('TAKEN')).toMatch(/already exists/);
    expect(validate!('FINE_NAME')).toBeUndefined();
  });

  it('Escape at any step stores nothing and shows no error', async () => {
    h.ui.answer('ABC', undefined);
    await h.run('notebookSecrets.new');
    expect(storedList()).toEqual([]);
    expect(h.ui.messages('error')).toEqual([]);
  });

  it('New from File stores the bytes base64 with type file', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    workspace.fs.files.set('/keys/service-account.json', bytes);
    h.ui.answer([Uri.file('/keys/service-account.json')], 'GCP_SA', '');
    await h.run('notebookSecrets.newFromFile');
    const [secret] = storedList();
    expect(secret).toMatchObject({ name: 'GCP_SA', type: 'file', encoding: 'base64' });
    const stored = JSON.parse(h.secrets.data.get('notebook-secrets/value/personal/GCP_SA')!);
    expect(Buffer.from(stored.value, 'base64')).toEqual(Buffer.from(bytes));
    // The name step offers a name made from the file name.
    expect(h.ui.calls[1]).toMatchObject({ options: { value: 'SERVICE_ACCOUNT_JSON' } });
  });

  it('New from File refuses a file over the limit before reading it, naming both sizes', async () => {
    workspace.fs.files.set('/big.bin', new Uint8Array(MAX_FILE_BYTES + 1));
    h.ui.answer([Uri.file('/big.bin')]);
    await h.run('notebookSecrets.newFromFile');
    expect(h.ui.messages('error')[0]).toMatch(
      /^big\.bin is 48\.0 KiB; a file secret can be at most 48 KiB .* Nothing was stored\./,
    );
    expect(storedList()).toEqual([]);
  });

  it('Edit changes the value, description or type; the value is never pre-filled', async () => {
    await createSecret('DB', 'old', 'Password');
    h.ui.calls = [];
    h.ui.answer(pickLabel('Value'), 'new');
    await h.run('notebookSecrets.edit', treeNode('DB'));
    expect(h.ui.calls[1]).toMatchObject({ kind: 'input', options: { password: true } });
    expect((h.ui.calls[1]!.options as { value?: string }).value).toBeUndefined();
    h.ui.answer(pickLabel('Description'), 'prod db');
    await h.run('notebookSecrets.edit', treeNode('DB'));
    h.ui.answer(pickLabel('Type'), pickLabel('Token'));
    await h.run('notebookSecrets.edit', treeNode('DB'));
    expect(storedList()[0]).toMatchObject({ description: 'prod db', type: 'token', version: 4 });
    expect(JSON.parse(h.secrets.data.get('notebook-secrets/value/personal/DB')!).value).toBe('new');
  });

  it('Reveal shows the value in a modal; Copy writes the clipboard and says so', async () => {
    await createSecret('TOKEN', 'tok-123');
    h.ui.answer(undefined);
    await h.run('notebookSecrets.reveal', treeNode('TOKEN'));
    const modal = h.ui.calls.at(-1)!;
    expect(modal).toMatchObject({
      kind: 'info',
      message: 'TOKEN',
      options: { modal: true, detail: 'tok-123' },
    });
    await h.run('notebookSecrets.copy', treeNode('TOKEN'));
    expect(await env.clipboard.readText()).toBe('tok-123');
    expect(h.ui.messages('info').at(-1)).toBe(
      'Copied TOKEN to the clipboard. It will be cleared in 45 seconds.',
    );
  });

  it('Copy clears the clipboard later, unless the user copied something else', async () => {
    vi.useFakeTimers();
    try {
      await createSecret('TOKEN', 'tok-123');
      await h.run('notebookSecrets.copy', treeNode('TOKEN'));
      await vi.advanceTimersByTimeAsync(45_000);
      expect(await env.clipboard.readText()).toBe('');
      await h.run('notebookSecrets.copy', treeNode('TOKEN'));
      await env.clipboard.writeText('something else');
      await vi.advanceTimersByTimeAsync(45_000);
      expect(await env.clipboard.readText()).toBe('something else');
    } finally {
      vi.useRealTimers();
    }
  });

  it('Copy of a text file copies its text', async () => {
    workspace.fs.files.set('/id.pem', new TextEncoder().encode('-----BEGIN KEY-----'));
    h.ui.answer([Uri.file('/id.pem')], 'PEM', '');
    await h.run('notebookSecrets.newFromFile');
    await h.run('notebookSecrets.copy', treeNode('PEM'));
    expect(await env.clipboard.readText()).toBe('-----BEGIN KEY-----');
  });

  it('Delete asks with a modal that names the secret, and only deletes on confirmation', async () => {
    await createSecret('DOOMED', 'x');
    h.ui.answer(undefined);
    await h.run('notebookSecrets.delete', treeNode('DOOMED'));
    expect(h.ui.calls.at(-1)).toMatchObject({
      kind: 'warning',
      message: "Delete the secret 'DOOMED'?",
      options: { modal: true },
    });
    expect(storedList()).toHaveLength(1);
    h.ui.answer('Delete');
    await h.run('notebookSecrets.delete', treeNode('DOOMED'));
    expect(storedList()).toHaveLength(0);
    expect([...h.secrets.data.keys()]).toEqual([]);
  });

  it('commands from the palette ask which secret', async () => {
    await createSecret('ONE', 'x');
    h.ui.answer(pickLabel('ONE'), undefined);
    await h.run('notebookSecrets.reveal');
    expect(h.ui.calls.at(-2)).toMatchObject({
      kind: 'quickPick',
      options: { placeHolder: 'Secret to reveal' },
    });
    expect(h.ui.calls.at(-1)).toMatchObject({ kind: 'info', message: 'ONE' });
  });

  it('Share explains that a team server is needed and offers to configure one', async () => {
    await createSecret('S', 'x');
    h.ui.answer('Configure Server…', 'https://secrets.example.com');
    await h.run('notebookSecrets.share', treeNode('S'));
    expect(h.ui.calls.at(-3)).toMatchObject({
      kind: 'info',
      message: "Sharing 'S' needs a team server.",
      options: { modal: true },
    });
    expect(workspace.getConfiguration('notebookSecrets').get('server.url', '')).toBe(
      'https://secrets.example.com',
    );
  });

  it('Share hands over to the sync client once it is set', async () => {
    await createSecret('S', 'x');
    const shared: string[] = [];
    h.api.setShareHandler(async (secret) => void shared.push(secret.name));
    await h.run('notebookSecrets.share', treeNode('S'));
    expect(shared).toEqual(['S']);
  });

  it('Insert puts get_secret at every cursor, get_secret_bytes for files', async () => {
    await createSecret('KEY', 'x');
    const replaced: string[] = [];
    window.activeTextEditor = {
      selections: [1, 2],
      edit: async (fn: (b: { replace(s: unknown, text: string): void }) => void) => {
        fn({ replace: (_s, text) => replaced.push(text) });
        return true;
      },
    };
    try {
      await h.run('notebookSecrets.insertGetSecret', treeNode('KEY'));
      expect(replaced).toEqual(["get_secret('KEY')", "get_secret('KEY')"]);
    } finally {
      window.activeTextEditor = undefined;
    }
    await h.run('notebookSecrets.insertGetSecret', treeNode('KEY'));
    expect(h.ui.messages('error').at(-1)).toMatch(/Open a notebook cell or a Python file/);
  });

  it('Insert names the scope, or warns, when another secret of that name comes first', async () => {
    h.dispose();
    const entry = (id: string, scope: object, owner?: string) => ({
      id,
      name: 'KEY',
      scope,
      encoding: 'text',
      type: 'generic',
      description: '',
      version: 1,
      created_at: '2026-11-23T10:00:00Z',
      updated_at: '2026-11-23T10:00:00Z',
      created_by: owner ?? 'me',
      access: [],
      ...(owner && { owner }),
    });
    h = await activateExtension(async (secrets) => {
      const value = JSON.stringify({ value: 'v', encoding: 'text' });
      await secrets.store('notebook-secrets/value/personal/KEY', value);
      await secrets.store('notebook-secrets/value/team:data/KEY', value);
      await secrets.store('notebook-secrets/value/personal@alice/KEY', value);
      await secrets.store(
        'notebook-secrets/index',
        JSON.stringify({
          version: 1,
          secrets: [
            entry('own', { kind: 'personal' }),
            entry('team', { kind: 'team', id: 'data' }),
            entry('alices', { kind: 'personal' }, 'alice'),
          ],
        }),
      );
    });
    const replaced: string[] = [];
    window.activeTextEditor = {
      selections: [1],
      edit: async (fn: (b: { replace(s: unknown, text: string): void }) => void) => {
        fn({ replace: (_s, text) => replaced.push(text) });
        return true;
      },
    };
    const node = (id: string) => ({
      kind: 'secret',
      secret: storedList().find((s) => s.id === id)!,
    });
    try {
      await h.run('notebookSecrets.insertGetSecret', node('own'));
      await h.run('notebookSecrets.insertGetSecret', node('team'));
      expect(h.ui.messages('warning')).toEqual([]);
      await h.run('notebookSecrets.insertGetSecret', node('alices'));
      expect(replaced).toEqual([
        "get_secret('KEY')",
        "get_secret('KEY', scope='team')",
        "get_secret('KEY')",
      ]);
      expect(h.ui.messages('warning').at(-1)).toBe(
        "get_secret('KEY') reads your own 'KEY' first; alice's shared one is read only where you have no secret of that name.",
      );
    } finally {
      window.activeTextEditor = undefined;
    }
  });

  it('Insert writes into the selected code cell of the active notebook when no editor has focus', async () => {
    await createSecret('KEY', 'x');
    const replaced: string[] = [];
    const cellDocument = { uri: Uri.file('/nb.ipynb#cell1') };
    window.visibleTextEditors = [
      { document: { uri: Uri.file('/other.py') }, selections: [], edit: async () => true },
      {
        document: cellDocument,
        selections: [1],
        edit: async (fn: (b: { replace(s: unknown, text: string): void }) => void) => {
          fn({ replace: (_s, text) => replaced.push(text) });
          return true;
        },
      },
    ];
    window.activeNotebookEditor = {
      selection: { start: 0 },
      notebook: {
        cellCount: 1,
        cellAt: () => ({ kind: NotebookCellKind.Code, document: cellDocument }),
      },
    };
    try {
      await h.run('notebookSecrets.insertGetSecret', treeNode('KEY'));
      expect(replaced).toEqual(["get_secret('KEY')"]);
    } finally {
      window.activeNotebookEditor = undefined;
      window.visibleTextEditors = [];
    }
  });

  it('the type step marks the current type when editing, and none when creating', async () => {
    await createSecret('KEY', 'x', 'Password');
    const typeStep = h.ui.calls.find((c) => c.kind === 'quickPick')!;
    const descriptions = (typeStep.items as { label: string; description: string }[]).map(
      (i) => `${i.label}: ${i.description}`,
    );
    expect(descriptions[0]).toBe('Generic: Any text value');
    expect(descriptions.join('\n')).not.toContain('(current)');
  });

  it('a failing command shows its error with Show Log, and logs it', async () => {
    await createSecret('A', 'x');
    // The scripted user skips the input box's own check, so the store's check answers.
    h.ui.answer('A', 'y', pickLabel('Key'), '');
    await h.run('notebookSecrets.new');
    expect(h.ui.calls.filter((c) => c.kind === 'error').at(-1)).toMatchObject({
      message: "A secret named 'A' already exists in this scope.",
      items: ['Show Log'],
    });
    expect(h.logLines.at(-1)).toBe(
      "[error] notebookSecrets.new failed: A secret named 'A' already exists in this scope.",
    );
  });
});

describe('helpers', () => {
  it.each([
    ['service-account.json', 'SERVICE_ACCOUNT_JSON'],
    ['id_rsa', 'ID_RSA'],
    ['2fa.txt', '_2FA_TXT'],
    ['---', '_'],
  ])('names a file %s as %s', (file, name) => expect(nameFromFile(file)).toBe(name));

  it.each([
    ['', undefined],
    ['https://secrets.example.com', undefined],
    ['http://127.0.0.1:8787', undefined],
    ['secrets.example.com', /full URL/],
    ['ftp://x', /https:\/\/ or http:\/\//],
    ['https://u:p@x.example', /credentials/],
    ['https://x.example/?token=1', /without \?query/],
  ])('checks a server URL %s', (url, problem) => {
    const result = serverUrlProblem(url);
    if (problem) expect(result).toMatch(problem);
    else expect(result).toBeUndefined();
  });
});

describe('SecretStorage shared with other windows', () => {
  it('reloads when another window changes a secret', async () => {
    const other = new LocalSecretStore(h.secrets);
    await other.load();
    await other.create({ name: 'FROM_OTHER_WINDOW', value: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    h.ui.answer(pickLabel('FROM_OTHER_WINDOW'), undefined);
    await h.run('notebookSecrets.reveal');
    expect(h.ui.calls.at(-1)).toMatchObject({ kind: 'info', message: 'FROM_OTHER_WINDOW' });
  });

  it('reports recovered and missing entries after a reload', async () => {
    await h.secrets.store(
      'notebook-secrets/value/personal/ORPHAN',
      JSON.stringify({ value: 'x', encoding: 'text' }),
    );
    await h.run('notebookSecrets.refresh');
    expect(h.ui.messages('warning').at(-1)).toMatch(
      /recovered 1 secret\(s\) whose details were missing: ORPHAN/,
    );
    expect(h.logLines).toContain(
      '[warn] Recovered 1 secret(s) whose index entry was missing: ORPHAN',
    );
  });
});
