import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLEAR_OUTPUTS,
  REPLACE_IN_SOURCE,
  SAVE_ANYWAY,
} from '../../../../src/extension/leakGuard/saveGuard';
import {
  NotebookCellKind,
  Position,
  Range,
  textDocumentEvents,
  workspace,
  type PromptCall,
  type WorkspaceEdit,
} from '../../fakes/vscode';
import { activateExtension } from '../harness';

const VALUE = `canary-save-${randomBytes(12).toString('hex')}`;
const encoder = new TextEncoder();

let h: Awaited<ReturnType<typeof activateExtension>>;
const pickLabel = (label: string) => (call: PromptCall) =>
  (call.items as { label: string }[]).find((i) => i.label.startsWith(label));

beforeEach(async () => {
  h = await activateExtension();
  workspace.appliedEdits.length = 0;
  h.ui.answer('DB_PASSWORD', VALUE, pickLabel('Password'), '');
  await h.run('notebookSecrets.new');
  h.ui.calls = [];
});
afterEach(() => h.dispose());

function notebook(cells: { source: string; output?: string }[]) {
  const saved: number[] = [];
  const nbCells = cells.map((c, index) => {
    const text = c.source;
    return {
      index,
      kind: NotebookCellKind.Code,
      metadata: {},
      document: {
        uri: { toString: () => `cell:${index}` },
        languageId: 'python',
        getText: () => text,
        positionAt(offset: number) {
          const before = text.slice(0, offset).split('\n');
          return new Position(before.length - 1, before.at(-1)!.length);
        },
      },
      outputs: c.output
        ? [
            {
              items: [
                { mime: 'image/png', data: encoder.encode(VALUE) },
                { mime: 'text/plain', data: encoder.encode(c.output) },
              ],
            },
          ]
        : [],
    };
  });
  return {
    uri: { toString: () => 'file:///work/report.ipynb' },
    getCells: () => nbCells,
    cellAt: (i: number) => nbCells[i]!,
    save: () => {
      saved.push(Date.now());
      return Promise.resolve(true);
    },
    saved,
  };
}

/** Fires the save and waits for the guard's check and its follow-up. */
async function save(nb: ReturnType<typeof notebook>) {
  textDocumentEvents.willSaveNotebook.fire({ notebook: nb });
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('save guard', () => {
  it('warns once when a stored value is in an output, naming the secret, and clears those outputs', async () => {
    const nb = notebook([
      { source: 'print(1)', output: '1' },
      { source: 'print(pw)', output: `password: ${VALUE}` },
    ]);
    h.ui.answer((call: PromptCall) => {
      expect(call.items).toEqual([CLEAR_OUTPUTS, SAVE_ANYWAY]);
      return CLEAR_OUTPUTS;
    });
    await save(nb);
    expect(h.ui.messages('warning')).toEqual([
      'The saved notebook holds the value of DB_PASSWORD in 1 cell output(s): it is now in the file (and in git, if you commit it).',
    ]);
    const edit = workspace.appliedEdits.at(-1) as WorkspaceEdit;
    expect(edit.notebookEdits).toHaveLength(1);
    const [replace] = edit.notebookEdits[0]!.edits;
    expect([replace!.range.start, replace!.range.end]).toEqual([1, 2]);
    expect(replace!.newCells[0]).toMatchObject({ value: 'print(pw)', outputs: [] });
    expect(nb.saved).toHaveLength(1);
    expect(JSON.stringify(h.ui.calls)).not.toContain(VALUE);
  });

  it('replaces a pasted value in the source with get_secret', async () => {
    const nb = notebook([{ source: `conn = connect(password="${VALUE}")` }]);
    h.ui.answer(REPLACE_IN_SOURCE);
    await save(nb);
    const edit = workspace.appliedEdits.at(-1) as WorkspaceEdit;
    expect(edit.replacements).toEqual([
      {
        uri: nb.cellAt(0).document.uri,
        range: new Range(new Position(0, 24), new Position(0, 26 + VALUE.length)),
        text: "get_secret('DB_PASSWORD')",
      },
    ]);
  });

  it('does not ask again after Save Anyway, and says nothing for a clean notebook', async () => {
    const nb = notebook([{ source: 'x = 1', output: VALUE }]);
    h.ui.answer(SAVE_ANYWAY);
    await save(nb);
    await save(nb);
    expect(h.ui.messages('warning')).toHaveLength(1);
    expect(workspace.appliedEdits).toHaveLength(0);
    await save(notebook([{ source: 'x = 1', output: 'ok' }]));
    expect(h.ui.messages('warning')).toHaveLength(1);
  });
});
