import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GET_SECRET_IMPORT, importOffset, importsOwn } from '../../../../src/core/portToGetSecret';
import {
  HardCodedKeyActions,
  MOVE_KEY_COMMAND,
  movableKeys,
} from '../../../../src/extension/leakGuard/hardCodedKeys';
import {
  CodeAction,
  DiagnosticSeverity,
  languages,
  textDocumentEvents,
  Position,
  Range,
  Uri,
  workspace,
  type WorkspaceEdit,
} from '../../fakes/vscode';
import { activateExtension } from '../harness';

const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const KEY = `sk-proj-${alnum(48)}`;

/** A cell's text document, enough for the provider and the command. */
function cellDocument(text: string) {
  return {
    uri: Uri.file('/work/nb.ipynb#cell2'),
    getText: () => text,
    positionAt(offset: number) {
      const before = text.slice(0, offset).split('\n');
      return new Position(before.length - 1, before.at(-1)!.length);
    },
  };
}

let h: Awaited<ReturnType<typeof activateExtension>>;
beforeEach(async () => {
  h = await activateExtension();
  workspace.appliedEdits.length = 0;
});
afterEach(() => h.dispose());

function provider(): HardCodedKeyActions {
  return languages.codeActionProviders.find((p) => p.provider instanceof HardCodedKeyActions)!
    .provider as HardCodedKeyActions;
}

describe('Move Hard-Coded Key to Notebook Secrets', () => {
  it('offers the fix on the line of a pasted key, not on other lines', () => {
    const doc = cellDocument(`import openai\nopenai_api_key = "${KEY}"\nprint(1)`);
    const line = (n: number) => new Range(new Position(n, 0), new Position(n, 0));
    const on = provider().provideCodeActions(doc as never, line(1) as never) as CodeAction[];
    expect(on.map((a) => a.title)).toEqual([
      'Move Hard-Coded Key to Notebook Secrets… (OpenAI API key)',
    ]);
    expect(JSON.stringify(on.map((a) => a.title))).not.toContain(KEY);
    expect(provider().provideCodeActions(doc as never, line(2) as never)).toEqual([]);
  });

  it('creates the secret under the suggested name and replaces the literal with get_secret', async () => {
    const text = `import openai\nopenai_api_key = "${KEY}"\nclient = openai.OpenAI(api_key=openai_api_key)`;
    const doc = cellDocument(text);
    const [action] = provider().provideCodeActions(
      doc as never,
      new Range(new Position(1, 3), new Position(1, 3)) as never,
    ) as CodeAction[];
    let suggested: unknown;
    h.ui.answer((call: { options?: { value?: string } }) => {
      suggested = call.options?.value;
      return 'OPENAI_API_KEY';
    });
    await h.run(action!.command!.command, ...action!.command!.arguments!);
    expect(suggested).toBe('OPENAI_API_KEY');
    const stored = JSON.parse(
      h.secrets.data.get('notebook-secrets/value/personal/OPENAI_API_KEY')!,
    );
    expect(stored.value).toBe(KEY);
    const edit = workspace.appliedEdits.at(-1) as WorkspaceEdit;
    expect(edit.replacements).toHaveLength(1);
    const { range, text: replacement } = edit.replacements[0]!;
    expect(replacement).toBe("get_secret('OPENAI_API_KEY')");
    expect([range.start, range.end]).toEqual([
      new Position(1, 17),
      new Position(1, 19 + KEY.length),
    ]);
    expect(h.logLines.join('\n')).not.toContain(KEY);
    expect(h.ui.messages().join('\n')).not.toContain(KEY);
  });

  it('stores nothing when the cell changed meanwhile, and says so', async () => {
    const doc = cellDocument(`token = "${KEY}"`);
    await h.run(
      MOVE_KEY_COMMAND,
      cellDocument('token = None'),
      movableKeys(doc.getText())[0]!.start,
    );
    expect(h.ui.messages('error').at(-1)).toMatch(/no longer in the cell.*Nothing was stored/);
    expect([...h.secrets.data.keys()].some((k) => k.includes('/value/'))).toBe(false);
  });

  it('leaves keys inside longer strings, f-strings and triple quotes alone', () => {
    expect(movableKeys(`h = "Bearer ${KEY}"`)).toEqual([]);
    expect(movableKeys(`h = f"${KEY}"`)).toEqual([]);
    expect(movableKeys(`h = """${KEY}"""`)).toEqual([]);
    expect(movableKeys(`h = '${KEY}'`)).toHaveLength(1);
  });
});

describe('hard-coded key warnings', () => {
  const collection = () => languages.diagnostics.get('notebookSecrets.hardCodedKeys')!;
  const pythonCell = (text: string) => ({
    ...cellDocument(text),
    uri: { scheme: 'vscode-notebook-cell', toString: () => 'vscode-notebook-cell:/nb.ipynb#c1' },
    languageId: 'python',
  });

  it('warns on a pasted key as the cell opens and changes, with a masked prefix only', () => {
    const cell = pythonCell('x = 1');
    textDocumentEvents.open.fire(cell);
    expect(collection().get('vscode-notebook-cell:/nb.ipynb#c1')).toEqual([]);
    const changed = pythonCell(`x = 1\napi_key = '${KEY}'`);
    textDocumentEvents.change.fire({ document: changed });
    const [warning] = collection().get('vscode-notebook-cell:/nb.ipynb#c1')!;
    expect(warning).toMatchObject({
      severity: DiagnosticSeverity.Warning,
      source: 'Notebook Secrets',
      code: 'openai-api-key',
      range: new Range(new Position(1, 11), new Position(1, 11 + KEY.length)),
    });
    expect(warning!.message).toBe(
      `Hard-coded OpenAI API key (sk-p… (${KEY.length} chars)). Move it into Notebook Secrets and read it with get_secret('API_KEY').`,
    );
    textDocumentEvents.close.fire(changed);
    expect(collection().has('vscode-notebook-cell:/nb.ipynb#c1')).toBe(false);
  });

  it('leaves other languages alone', () => {
    textDocumentEvents.open.fire({ ...pythonCell(`k = '${KEY}'`), languageId: 'markdown' });
    expect(collection().size).toBe(0);
  });
});

describe('a literal that is one of your stored values', () => {
  const STORED = `canary-stored-${randomBytes(10).toString('hex')}`;

  it('is flagged by the secret name and replaced with get_secret in one step', async () => {
    await h.newPassword('DB_PASSWORD', STORED);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));

    const text = `conn = connect(host, "${STORED}")`;
    const cell = {
      ...cellDocument(text),
      uri: { scheme: 'vscode-notebook-cell', toString: () => 'vscode-notebook-cell:/nb.ipynb#c9' },
      languageId: 'python',
    };
    textDocumentEvents.open.fire(cell);
    const [warning] = languages.diagnostics
      .get('notebookSecrets.hardCodedKeys')!
      .get('vscode-notebook-cell:/nb.ipynb#c9')!;
    expect(warning!.message).toBe(
      "The value of your secret DB_PASSWORD is written here. Replace it with get_secret('DB_PASSWORD').",
    );
    const [action] = provider().provideCodeActions(
      cell as never,
      new Range(new Position(0, 0), new Position(0, 0)) as never,
    ) as CodeAction[];
    expect(action!.title).toBe("Replace with get_secret('DB_PASSWORD')");
    expect(action!.edit!.replacements).toEqual([
      {
        uri: cell.uri,
        range: new Range(new Position(0, 21), new Position(0, 23 + STORED.length)),
        text: "get_secret('DB_PASSWORD')",
      },
    ]);
    expect(JSON.stringify([warning, action])).not.toContain(STORED);
  });
});

describe('the import line in a Python file', () => {
  /** A Python file's document (scheme file), as VS Code gives it. */
  const pyFile = (text: string) => ({ ...cellDocument(text), uri: Uri.file('/work/app.py') });

  it('is added once by Move, after the docstring and __future__ imports', async () => {
    const text = `#!/usr/bin/env python\n"""Talks to OpenAI."""\nfrom __future__ import annotations\n\nimport os\nopenai_api_key = "${KEY}"\n`;
    const doc = pyFile(text);
    h.ui.answer('OPENAI_API_KEY');
    await h.run(MOVE_KEY_COMMAND, doc, movableKeys(text)[0]!.start);
    const edit = workspace.appliedEdits.at(-1) as WorkspaceEdit;
    expect(edit.inserts).toEqual([
      {
        uri: doc.uri,
        position: new Position(3, 0),
        text: 'from notebook_secrets import get_secret\n',
      },
    ]);
    expect(edit.replacements.map((r) => r.text)).toEqual(["get_secret('OPENAI_API_KEY')"]);
  });

  it('is not added where the file imports it', async () => {
    const text = `from notebook_secrets import SecretNotFoundError, get_secret\ntoken = "${KEY}"\n`;
    h.ui.answer('TOKEN');
    await h.run(MOVE_KEY_COMMAND, pyFile(text), movableKeys(text)[0]!.start);
    expect((workspace.appliedEdits.at(-1) as WorkspaceEdit).inserts).toEqual([]);
  });

  it('is added to a notebook cell once: not when another cell of its notebook imports it', async () => {
    const cellOf = (text: string, id: string) => ({
      ...cellDocument(text),
      uri: { scheme: 'vscode-notebook-cell', toString: () => `vscode-notebook-cell:/nb#${id}` },
    });
    const setup = cellOf('import os\n', 'c1');
    const keyCell = cellOf(`token = "${KEY}"`, 'c2');
    const notebook = { getCells: () => [setup, keyCell].map((document) => ({ document })) };
    workspace.notebookDocuments.push(notebook);
    try {
      h.ui.answer('TOKEN_2');
      await h.run(MOVE_KEY_COMMAND, keyCell, movableKeys(keyCell.getText())[0]!.start);
      expect((workspace.appliedEdits.at(-1) as WorkspaceEdit).inserts).toEqual([
        { uri: keyCell.uri, position: new Position(0, 0), text: `${GET_SECRET_IMPORT}\n` },
      ]);

      const imports = cellOf(`${GET_SECRET_IMPORT}\n`, 'c1');
      notebook.getCells = () => [imports, keyCell].map((document) => ({ document }));
      h.ui.answer('TOKEN_3');
      await h.run(MOVE_KEY_COMMAND, keyCell, movableKeys(keyCell.getText())[0]!.start);
      expect((workspace.appliedEdits.at(-1) as WorkspaceEdit).inserts).toEqual([]);
    } finally {
      workspace.notebookDocuments.splice(0);
    }
  });

  it('goes at the right place in each kind of file header', () => {
    expect(importOffset('import os\n')).toBe(0);
    expect(importOffset('# -*- coding: utf-8 -*-\n# license\nimport os\n')).toBe(34);
    expect(importOffset("'''Multi\nline\n'''\nx = 1\n")).toBe(18);
    expect(importOffset('"""Doc."""')).toBe(10);
    expect(importsOwn('from notebook_secrets import (\n    get_secret,\n)\n', 'get_secret')).toBe(
      true,
    );
    // Imported under another name, `get_secret(...)` would still fail.
    expect(importsOwn('from notebook_secrets import get_secret as gs\n', 'get_secret')).toBe(false);
  });
});
