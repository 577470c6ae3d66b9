import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCAN_WORKSPACE_COMMAND } from '../../../../src/extension/leakGuard/workspaceScan';
import {
  languages,
  NotebookRange,
  Position,
  Range,
  textDocumentEvents,
  Uri,
  window,
  workspace,
} from '../../fakes/vscode';
import { activateExtension } from '../harness';

const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const KEY = `sk-proj-${alnum(48)}`;
const GH = `ghp_${alnum(36)}`;
const STORED = `canary-scan-${randomBytes(10).toString('hex')}`;

const file = (path: string, text: string) =>
  workspace.fs.files.set(path, new TextEncoder().encode(text));

function notebook(cells: { source: string[]; outputs?: unknown[] }[]): string {
  return JSON.stringify({
    cells: cells.map((c) => ({ cell_type: 'code', metadata: {}, outputs: [], ...c })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  });
}

const problems = () => languages.diagnostics.get('notebookSecrets.workspaceScan')!;

let h: Awaited<ReturnType<typeof activateExtension>>;
beforeEach(async () => {
  workspace.fs.files.clear();
  workspace.textDocuments.length = 0;
  workspace.notebookDocuments.length = 0;
  window.shownDocuments.length = 0;
  h = await activateExtension();
});
afterEach(() => h.dispose());

describe('Scan Workspace for Secrets', () => {
  it('lists keys in notebooks (cell, line, output) and files in the Problems panel, masked', async () => {
    file(
      '/ws/analysis.ipynb',
      notebook([
        { source: ['import os\n'] },
        { source: ['x = 1\n', `openai_api_key = "${KEY}"\n`] },
        { source: ['print(t)'], outputs: [{ output_type: 'stream', name: 'stdout', text: [GH] }] },
      ]),
    );
    file('/ws/app.py', `import requests\n\ntoken = "${GH}"\n`);
    file('/ws/.env', `OPENAI_API_KEY=${KEY}\n`);
    file('/ws/clean.py', 'print("hello")\n');
    file('/ws/picture.png', KEY);
    h.ui.answer(undefined);
    await h.run(SCAN_WORKSPACE_COMMAND);

    const nb = problems().get('file:///ws/analysis.ipynb')!;
    expect(nb.map((d) => d.message)).toEqual([
      `Cell 2, line 2: Hard-coded OpenAI API key (sk-p… (${KEY.length} chars)). Move it into Notebook Secrets and read it with get_secret('OPENAI_API_KEY').`,
      `Cell 3, output 1, line 1: An output shows a GitHub token (ghp_… (${GH.length} chars)). Clear that output; if it was shared, replace the key.`,
    ]);
    const [py] = problems().get('file:///ws/app.py')!;
    expect(py).toMatchObject({
      source: 'Notebook Secrets',
      code: 'github-token',
      range: new Range(new Position(2, 9), new Position(2, 9 + GH.length)),
    });
    expect(problems().get('file:///ws/.env')).toHaveLength(1);
    expect(problems().has('file:///ws/clean.py')).toBe(false);
    expect(problems().has('file:///ws/picture.png')).toBe(false);

    const pick = h.ui.calls.find((c) => c.kind === 'quickPick')!;
    expect(pick.options).toMatchObject({
      title: '4 possible secret(s) in 3 file(s), also in the Problems panel',
    });
    expect(
      pick.items!.map((i) => [
        (i as { label: string }).label,
        (i as { description: string }).description,
      ]),
    ).toEqual([
      ['$(warning) /ws/.env', 'line 1'],
      ['$(warning) /ws/analysis.ipynb', 'cell 2, line 2'],
      ['$(warning) /ws/analysis.ipynb', 'cell 3, output 1, line 1'],
      ['$(warning) /ws/app.py', 'line 3'],
    ]);
    const shown = JSON.stringify([[...problems()], pick.items, h.logLines, h.ui.messages()]);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(GH);
  });

  it('opens the picked finding: the notebook at its cell, then the cell at its line', async () => {
    file('/ws/nb.ipynb', notebook([{ source: ['a = 1\n'] }, { source: [`key = "${KEY}"`] }]));
    const cellDoc = { uri: { scheme: 'vscode-notebook-cell' } };
    const nb = {
      uri: Uri.file('/ws/nb.ipynb'),
      cellCount: 2,
      cellAt: () => ({ document: cellDoc }),
    };
    workspace.openableNotebooks.set('file:///ws/nb.ipynb', nb);
    h.ui.answer((call: { items?: unknown[] }) => call.items![0]);
    await h.run(SCAN_WORKSPACE_COMMAND);
    expect(window.shownDocuments).toEqual([
      { document: nb, options: { selections: [new NotebookRange(1, 2)] } },
      {
        document: cellDoc,
        options: {
          viewColumn: 1,
          selection: new Range(new Position(0, 7), new Position(0, 7 + KEY.length)),
        },
      },
    ]);
  });

  it('finds the values of your secrets by name, and says when nothing is found or no folder is open', async () => {
    await h.newPassword('DB_PASSWORD', STORED);
    file('/ws/config.yaml', `db:\n  url: "x"\n  pw: ${Buffer.from(STORED).toString('base64')}\n`);
    h.ui.answer(undefined);
    await h.run(SCAN_WORKSPACE_COMMAND);
    expect(
      problems()
        .get('file:///ws/config.yaml')!
        .map((d) => d.message),
    ).toEqual([
      "The value of your secret DB_PASSWORD is written here. Replace it with get_secret('DB_PASSWORD').",
    ]);
    expect(JSON.stringify([[...problems()], h.ui.calls, h.logLines])).not.toContain(STORED);

    workspace.fs.files.clear();
    const folders = workspace.workspaceFolders;
    workspace.workspaceFolders = undefined;
    try {
      await h.run(SCAN_WORKSPACE_COMMAND);
    } finally {
      workspace.workspaceFolders = folders;
    }
    expect(h.ui.messages('info').at(-1)).toMatch(/^Open a folder first/);
    file('/ws/clean.py', 'print(1)\n');
    await h.run(SCAN_WORKSPACE_COMMAND);
    expect(h.ui.messages('info').at(-1)).toBe(
      'No hard-coded keys or stored values found in 1 file(s) of the workspace.',
    );
    expect(problems().size).toBe(0);
  });

  it("hands an opened Python file and an opened notebook's cells to the live warnings", async () => {
    file('/ws/app.py', `token = "${GH}"\n`);
    file(
      '/ws/nb.ipynb',
      notebook([{ source: [`key = "${KEY}"`], outputs: [{ output_type: 'stream', text: [GH] }] }]),
    );
    h.ui.answer(undefined);
    await h.run(SCAN_WORKSPACE_COMMAND);
    expect(problems().get('file:///ws/nb.ipynb')).toHaveLength(2);

    const py = { uri: Uri.file('/ws/app.py'), languageId: 'python', getText: () => '' };
    workspace.textDocuments.push(py);
    textDocumentEvents.open.fire(py);
    expect(problems().has('file:///ws/app.py')).toBe(false);

    workspace.notebookDocuments.push({ uri: Uri.file('/ws/nb.ipynb') });
    textDocumentEvents.openNotebook.fire(workspace.notebookDocuments[0]);
    expect(
      problems()
        .get('file:///ws/nb.ipynb')!
        .map((d) => d.message),
    ).toEqual([expect.stringMatching(/^Cell 1, output 1, line 1: An output shows a GitHub token/)]);
  });
});
