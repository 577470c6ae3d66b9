import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalSecretStore } from '../../../../src/core';
import { NotebookNeeds } from '../../../../src/extension/needs/notebookNeeds';
import { SecretsTreeProvider, type SecretsNode } from '../../../../src/extension/views/secretsTree';
import { ViewState } from '../../../../src/extension/views/viewState';
import {
  FakeSecretStorage,
  NotebookCellKind,
  textDocumentEvents,
  ThemeIcon,
  ui,
  Uri,
  window,
} from '../../fakes/vscode';
import { activateExtension } from '../harness';

function fakeNotebook(path: string, cells: [string, string, NotebookCellKind?][]) {
  return {
    uri: Uri.file(path),
    notebookType: 'jupyter-notebook',
    getCells: () =>
      cells.map(([languageId, text, kind = NotebookCellKind.Code], index) => ({
        index,
        kind,
        document: { languageId, getText: () => text },
      })),
  };
}

function open(notebook: ReturnType<typeof fakeNotebook> | undefined) {
  window.activeNotebookEditor = notebook && { notebook };
  textDocumentEvents.activeNotebookEditor.fire(window.activeNotebookEditor);
}

const ANALYSIS = fakeNotebook('analysis.ipynb', [
  ['markdown', "get_secret('IN_MARKDOWN')", NotebookCellKind.Markup],
  ['python', "key = get_secret('OPENAI_API_KEY')\n# get_secret('COMMENTED')"],
  ['python', "db = get_secret(name='DB_PASSWORD')\nget_secret('OPENAI_API_KEY')"],
]);

let store: LocalSecretStore;
let needs: NotebookNeeds;
let tree: SecretsTreeProvider;
let added: string[];

beforeEach(async () => {
  ui.reset();
  window.activeNotebookEditor = undefined;
  store = new LocalSecretStore(new FakeSecretStorage());
  await store.load();
  await store.create({ name: 'OPENAI_API_KEY', value: 'v', type: 'key' });
  added = [];
  needs = new NotebookNeeds({
    repository: store,
    activeProject: () => undefined,
    addSecret: async (name) => void added.push(name),
  });
  tree = new SecretsTreeProvider(store, new ViewState(), needs);
  needs.start();
});
afterEach(() => {
  needs.dispose();
  tree.dispose();
  open(undefined);
});

const labels = (nodes: SecretsNode[]) => nodes.map((n) => tree.getTreeItem(n).label);

describe('This Notebook in the Secrets view', () => {
  it('lists what the active notebook needs first, present or missing, with the cells', () => {
    open(ANALYSIS);
    const [group] = tree.getChildren();
    expect(labels(tree.getChildren())).toEqual(['This Notebook', 'Personal']);
    expect(tree.getTreeItem(group!)).toMatchObject({
      description: 'analysis.ipynb · 1 missing',
      contextValue: 'notebook',
    });
    const [present, missing] = tree.getChildren(group);
    expect(tree.getTreeItem(present!)).toMatchObject({
      label: 'OPENAI_API_KEY',
      description: 'present · cells 2, 3',
      contextValue: 'needed+present',
    });
    const item = tree.getTreeItem(missing!);
    expect(item).toMatchObject({
      label: 'DB_PASSWORD',
      description: 'missing · cell 3',
      contextValue: 'needed+missing',
    });
    expect((item.iconPath as ThemeIcon).id).toBe('warning');
    expect(tree.getParent(missing!)).toMatchObject({ kind: 'notebook' });
  });

  it('follows the store: a secret added turns present', async () => {
    open(ANALYSIS);
    const changed = vi.fn();
    tree.onDidChangeTreeData(changed);
    await store.create({ name: 'DB_PASSWORD', value: 'v', type: 'password' });
    expect(changed).toHaveBeenCalled();
    const group = tree.getChildren()[0]!;
    expect(tree.getTreeItem(group).description).toBe('analysis.ipynb');
    expect(tree.getChildren(group).map((n) => tree.getTreeItem(n).contextValue)).toEqual([
      'needed+present',
      'needed+present',
    ]);
  });

  it('shows no group without an active notebook, or for one that needs nothing', () => {
    expect(labels(tree.getChildren())).toEqual(['Personal']);
    open(fakeNotebook('plain.ipynb', [['python', 'print(1)']]));
    expect(labels(tree.getChildren())).toEqual(['Personal']);
  });

  it('reads R cells too', () => {
    open(fakeNotebook('model.ipynb', [['r', 'k <- get_secret("R_TOKEN")']]));
    const group = tree.getChildren()[0]!;
    expect(labels(tree.getChildren(group))).toEqual(['R_TOKEN']);
  });
});

describe('opening a notebook with missing secrets', () => {
  it('says so once per notebook in a session, naming them', async () => {
    open(ANALYSIS);
    expect(ui.messages('warning')).toEqual([
      "analysis.ipynb needs the secret 'DB_PASSWORD', which you do not have yet. Add it before running the cell that reads it.",
    ]);
    open(undefined);
    open(ANALYSIS);
    expect(ui.messages('warning')).toHaveLength(1);
  });

  it('says nothing when every secret is there', async () => {
    await store.create({ name: 'DB_PASSWORD', value: 'v', type: 'password' });
    open(ANALYSIS);
    expect(ui.messages('warning')).toEqual([]);
  });

  it('"Add…" starts New Secret with the name, asking which one when several are missing', async () => {
    const several = fakeNotebook('several.ipynb', [['python', "get_secret('A'); get_secret('B')"]]);
    // The warning is not modal: answer its "Add…" by replacing the fake for this call.
    const show = window.showWarningMessage;
    window.showWarningMessage = (text: string) => {
      ui.calls.push({ kind: 'warning', message: text });
      return Promise.resolve('Add…');
    };
    try {
      ui.answer('B');
      open(several);
      await vi.waitFor(() => expect(added).toEqual(['B']));
      expect(ui.messages('warning')[0]).toMatch(/several\.ipynb needs 2 secrets .*'A', 'B'/);
    } finally {
      window.showWarningMessage = show;
    }
  });
});

describe('"Add…" on a missing secret', () => {
  it('opens New Secret with the name filled in', async () => {
    const h = await activateExtension();
    try {
      let prefilled: unknown;
      h.ui.answer(
        (call: { options?: unknown }) => {
          prefilled = (call.options as { value?: string }).value;
          return 'DB_PASSWORD';
        },
        'the-value',
        (call: { items?: unknown[] }) => call.items![0],
        '',
      );
      await h.run('notebookSecrets.addNeeded', {
        kind: 'needed',
        item: { name: 'DB_PASSWORD', cells: [3], present: false },
      });
      expect(prefilled).toBe('DB_PASSWORD');
      expect(h.ui.messages('info').at(-1)).toMatch(/Saved DB_PASSWORD/);
    } finally {
      h.dispose();
    }
  });
});
