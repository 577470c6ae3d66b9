import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../../src/core';
import { NotebookChoiceStore } from '../../../../src/extension/needs/notebookChoiceStore';
import { NotebookNeeds } from '../../../../src/extension/needs/notebookNeeds';
import { PortReadActions, portNotebook } from '../../../../src/extension/needs/portNotebook';
import { SecretsTreeProvider } from '../../../../src/extension/views/secretsTree';
import { ViewState } from '../../../../src/extension/views/viewState';
import {
  FakeSecretStorage,
  NotebookCellKind,
  Position,
  Range,
  textDocumentEvents,
  ui,
  Uri,
  window,
  workspace,
  type CodeAction,
  type NotebookEdit,
} from '../../fakes/vscode';

/** A cell's document: text, its URI and offsets as positions. */
function cellDocument(uri: string, text: string) {
  return {
    uri: Uri.parse(uri),
    languageId: 'python',
    getText: () => text,
    positionAt(offset: number) {
      const before = text.slice(0, offset).split('\n');
      return new Position(before.length - 1, before.at(-1)!.length);
    },
  };
}

/** A Jupyter notebook of Python cells, with ipynb metadata as VS Code's serializer keeps it. */
function fakeNotebook(path: string, sources: string[], metadata: Record<string, unknown> = {}) {
  const cells = sources.map((text, index) => ({
    index,
    kind: NotebookCellKind.Code,
    document: cellDocument(`vscode-notebook-cell://${path}#c${index}`, text),
  }));
  return {
    uri: Uri.file(path),
    notebookType: 'jupyter-notebook',
    metadata: { metadata, nbformat: 4 },
    getCells: () => cells,
  };
}

const log = window.createOutputChannel('test', { log: true }) as never;

function lastMetadata(): Record<string, unknown> | undefined {
  const edit = workspace.appliedEdits.at(-1)?.notebookEdits[0]?.edits[0] as
    NotebookEdit | undefined;
  return (edit?.newNotebookMetadata as { metadata?: Record<string, unknown> } | undefined)
    ?.metadata;
}

const COLAB = [
  'from google.colab import userdata',
  "hf = userdata.get('HF_TOKEN')\nkey = userdata.get('OPENAI_API_KEY')",
];

beforeEach(() => {
  ui.reset();
  workspace.appliedEdits.length = 0;
});
afterEach(() => {
  workspace.notebookDocuments.splice(0);
  window.activeNotebookEditor = undefined;
});

describe('the choice to serve other platforms’ calls', () => {
  it('is asked once when such a notebook opens; ignoring it records nothing', async () => {
    const notebook = fakeNotebook('/w/colab.ipynb', COLAB, { kernelspec: { name: 'python3' } });
    workspace.notebookDocuments.push(notebook as never);
    const store = new NotebookChoiceStore(log);
    store.offer(notebook as never, ['colab']);
    store.offer(notebook as never, ['colab']);
    await new Promise((r) => setTimeout(r, 0));
    const asked = ui.calls.filter((c) => /reads keys the Colab way/.test(c.message ?? ''));
    expect(asked.map((c) => [c.message, c.items])).toEqual([
      [
        '/w/colab.ipynb reads keys the Colab way; serve them from Notebook Secrets? Its cells stay as they are; each key is read from your secrets, asking first as get_secret does. The choice is saved in the notebook. No google.colab module is made up, so libraries do not think they run in Colab.',
        ['Serve Them', 'Port This Notebook…', 'Leave Them'],
      ],
    ]);
    expect(workspace.appliedEdits).toEqual([]);
  });

  it('is saved in the notebook metadata, next to what was there', async () => {
    const notebook = fakeNotebook('/w/colab.ipynb', COLAB, { kernelspec: { name: 'python3' } });
    workspace.notebookDocuments.push(notebook as never);
    await new NotebookChoiceStore(log).record(notebook.uri.toString(), true);
    expect(lastMetadata()).toEqual({
      kernelspec: { name: 'python3' },
      notebook_secrets: { serve_platform_calls: true },
    });
  });

  it('is asked in a modal while a cell waits, when nobody answered on opening', async () => {
    const notebook = fakeNotebook('/w/k.ipynb', []);
    workspace.notebookDocuments.push(notebook as never);
    const store = new NotebookChoiceStore(log);
    ui.answer('Leave Them');
    const session = { id: 's', notebook: notebook.uri.toString(), label: 'k.ipynb', createdAt: 0 };
    expect(await store.askServe(session, ['kaggle', 'databricks'])).toBe(false);
    expect(ui.calls.at(-1)).toMatchObject({
      message:
        'k.ipynb reads keys the Kaggle and Databricks ways; serve them from Notebook Secrets?',
      options: { modal: true },
    });
    expect(lastMetadata()).toEqual({ notebook_secrets: { serve_platform_calls: false } });
  });

  it('reads what a notebook already chose, and is not asked then', async () => {
    const notebook = fakeNotebook('/w/done.ipynb', COLAB, {
      notebook_secrets: { serve_platform_calls: false, environment: ['OPENAI_API_KEY'] },
    });
    const store = new NotebookChoiceStore(log);
    expect(store.of(notebook as never)).toEqual({
      servePlatformCalls: false,
      environment: ['OPENAI_API_KEY'],
    });
    store.offer(notebook as never, ['colab']);
    expect(ui.calls).toEqual([]);
  });
});

describe('This Notebook lists reads of every form', () => {
  it('with how each is read, and the names listed for the environment', async () => {
    const store = new LocalSecretStore(new FakeSecretStorage());
    await store.load();
    await store.create({ name: 'DB_URL', value: 'v', type: 'generic' });
    const notebook = fakeNotebook(
      '/w/mixed.ipynb',
      [...COLAB, "import os\nos.environ['DB_URL']\nos.getenv('HOME')"],
      { notebook_secrets: { environment: ['ANTHROPIC_API_KEY'] } },
    );
    const choices = new NotebookChoiceStore(log);
    const needs = new NotebookNeeds({
      repository: store,
      activeProject: () => undefined,
      addSecret: async () => undefined,
      choices,
    });
    const tree = new SecretsTreeProvider(store, new ViewState(), needs);
    needs.start();
    try {
      window.activeNotebookEditor = { notebook };
      textDocumentEvents.activeNotebookEditor.fire(window.activeNotebookEditor);
      const group = tree.getChildren()[0]!;
      const items = tree.getChildren(group).map((n) => tree.getTreeItem(n));
      expect(items.map((i) => `${String(i.label)}: ${String(i.description)}`)).toEqual([
        'HF_TOKEN: missing · cell 2 · Colab',
        'OPENAI_API_KEY: missing · cell 2 · Colab',
        'DB_URL: present · cell 3 · os.environ',
        'ANTHROPIC_API_KEY: missing · environment',
      ]);
      // Opening it asked about serving its Colab calls.
      expect(ui.calls.some((c) => /reads keys the Colab way/.test(c.message ?? ''))).toBe(true);
    } finally {
      needs.dispose();
      tree.dispose();
    }
  });
});

describe('Use get_secret, and Port This Notebook', () => {
  function setup() {
    const notebook = fakeNotebook('/w/port.ipynb', COLAB);
    workspace.notebookDocuments.push(notebook as never);
    return { notebook, cells: notebook.getCells() };
  }

  it('offers each read under the cursor its own rewrite, with the import', () => {
    const { cells } = setup();
    const doc = cells[1]!.document;
    const actions = new PortReadActions().provideCodeActions(
      doc as never,
      new Range(new Position(0, 8), new Position(0, 8)) as never,
    ) as unknown as CodeAction[];
    expect(actions.map((a) => a.title)).toEqual([
      "Use get_secret('HF_TOKEN')",
      'Port This Notebook to get_secret…',
    ]);
    const edit = actions[0]!.edit!;
    expect(edit.replacements.map((r) => [String(r.uri), r.text])).toEqual([
      [doc.uri.toString(), "get_secret('HF_TOKEN')"],
      [doc.uri.toString(), 'from notebook_secrets import get_secret\n'],
    ]);
    expect(
      new PortReadActions().provideCodeActions(
        cells[0]!.document as never,
        new Range(new Position(0, 0), new Position(0, 0)) as never,
      ),
    ).toEqual([]);
  });

  it('ports the reads the user keeps in the list, in one edit', async () => {
    const { notebook, cells } = setup();
    ui.answer((call: { items?: { description?: string; picked?: boolean }[] }) => {
      expect(call.items!.map((i) => [i.description, i.picked])).toEqual([
        ["→ get_secret('HF_TOKEN')", true],
        ["→ get_secret('OPENAI_API_KEY')", true],
      ]);
      return call.items;
    });
    await portNotebook(notebook as never);
    const [edit] = workspace.appliedEdits;
    expect(edit!.replacements.map((r) => [String(r.uri), r.text])).toEqual([
      [cells[0]!.document.uri.toString(), 'from notebook_secrets import get_secret'],
      [cells[1]!.document.uri.toString(), "get_secret('OPENAI_API_KEY')"],
      [cells[1]!.document.uri.toString(), "get_secret('HF_TOKEN')"],
    ]);
    expect(ui.calls.at(-1)?.message).toMatch(/^Rewrote 2 calls to get_secret/);
  });
});
